"""The one status-machine helper: moves as data, a 409 naming the allowed moves."""

from __future__ import annotations

import pytest

from gis_service.core.errors import Conflict
from gis_service.core.workflow import StatusEventOut, Workflow
from grids.models import DEMAND_STATUSES
from grids.visits.demands import DEMAND_WORKFLOW
from grids.visits.schemas import DemandEventOut
from layers.disputes.schemas import DisputeEventOut
from layers.disputes.workflow import DISPUTE_WORKFLOW, OPEN_DISPUTE_STATUSES
from layers.models import DISPUTE_STATUSES

TICKET = Workflow(
    name="工单",
    noun="ticket",
    moves={"new": ("doing", "dropped"), "doing": ("done",), "done": (), "dropped": ()},
    labels={"new": "新建", "doing": "处理中", "done": "完成"},
)


def test_allowed_moves_pass() -> None:
    TICKET.check("new", "doing")
    TICKET.check("doing", "done")


def test_an_illegal_move_is_a_409_naming_the_allowed_ones() -> None:
    with pytest.raises(Conflict) as caught:
        TICKET.check("new", "done", item=7)
    problem = caught.value.to_problem()
    assert problem["status"] == 409
    assert problem["detail"] == (
        "工单 7 不能从 新建 (new) 转为 完成 (done)；允许：处理中 (doing)、dropped。"
        "ticket 7 is new: it cannot move to done (allowed: doing, dropped)"
    )
    assert problem["errors"] == [
        {
            "field": "status",
            "reason": "not allowed from new",
            "allowed": ["doing", "dropped"],
        }
    ]
    assert problem["current_status"] == "new"


def test_a_final_status_allows_nothing() -> None:
    with pytest.raises(Conflict) as caught:
        TICKET.check("done", "doing", field_name="to")
    assert "允许：无（已是最终状态）" in caught.value.detail
    assert "(allowed: none, final)" in caught.value.detail
    assert caught.value.errors[0]["field"] == "to"
    assert caught.value.errors[0]["allowed"] == []


def test_statuses_finals_targets_sources() -> None:
    assert TICKET.statuses == ("new", "doing", "done", "dropped")
    assert TICKET.final == {"done", "dropped"}
    assert TICKET.active == ("new", "doing")
    assert TICKET.targets == {"doing", "dropped", "done"}
    assert TICKET.sources("done") == ("doing",)
    assert TICKET.sources("new") == ()
    assert TICKET.allowed("nowhere") == ()
    assert TICKET.label("dropped") == "dropped"


def test_a_move_to_an_unknown_status_is_refused_at_definition() -> None:
    with pytest.raises(ValueError, match=r"unknown target status \['gone'\]"):
        Workflow(name="x", moves={"a": ("gone",)})


@pytest.mark.parametrize(
    ("workflow", "statuses"),
    [(DEMAND_WORKFLOW, DEMAND_STATUSES), (DISPUTE_WORKFLOW, DISPUTE_STATUSES)],
)
def test_each_workflow_knows_exactly_its_tables_statuses(
    workflow: Workflow, statuses: tuple[str, ...]
) -> None:
    # the CHECK constraint (from the models) and the moves cannot drift apart
    assert workflow.statuses == statuses
    assert set(workflow.labels) == set(statuses)  # every status has a Chinese label


def test_the_workflows_moves() -> None:
    assert DEMAND_WORKFLOW.allowed("open") == ("in_progress", "escalated")
    assert DEMAND_WORKFLOW.final == {"resolved"}
    assert DISPUTE_WORKFLOW.allowed("open") == ("mediating", "dismissed")
    assert DISPUTE_WORKFLOW.final == {"resolved", "dismissed", "closed"}
    assert "closed" not in DISPUTE_WORKFLOW.targets  # only detection closes
    assert OPEN_DISPUTE_STATUSES == ("open", "mediating")


def test_demand_and_dispute_events_share_one_schema() -> None:
    for event in (DemandEventOut, DisputeEventOut):
        assert issubclass(event, StatusEventOut)
        assert event.model_fields.keys() == StatusEventOut.model_fields.keys()
