"""Demand ledger: status transitions (illegal ones are 4xx), closure rates, overdue."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from grids.visits.demands import closure_report, create_demand, transition_demand
from grids.visits.schemas import DemandCreate, DemandTransition
from tests.factories import TOWNSHIP
from tests.grids.factories_visits import make_town

PROBLEM = "application/problem+json"
BASE = f"/townships/{TOWNSHIP}"


def raise_demand(session: Session, household: str, due: str | None = None) -> int:
    demand = DemandCreate(
        household=household, category="employment", description="务工信息",
        due_date=date.fromisoformat(due) if due else None,
    )  # fmt: skip
    return create_demand(session, township=TOWNSHIP, demand=demand).id


def move(session: Session, demand_id: int, *statuses: str) -> None:
    for status in statuses:
        transition_demand(
            session, township=TOWNSHIP, demand_id=demand_id,
            change=DemandTransition(status=status, actor="张书记"),  # type: ignore[arg-type]
        )  # fmt: skip


def test_legal_path_is_recorded(session: Session, client: TestClient) -> None:
    make_town(session)
    created = client.post(
        f"{BASE}/demands",
        json={"household": "H003", "category": "elderly_care", "description": "助餐",
              "owner": "C2", "actor": "王网格员"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    demand_id = created.json()["id"]
    assert created.json()["owner"] == "C2"
    for status in ("in_progress", "escalated", "in_progress", "resolved"):
        response = client.post(
            f"{BASE}/demands/{demand_id}/transitions",
            json={"status": status, "actor": "张书记", "resolution": "已安排"
                  if status == "resolved" else None},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    final = client.get(f"{BASE}/demands/{demand_id}").json()
    assert final["resolved_at"] is not None and final["resolution"] == "已安排"
    events = client.get(f"{BASE}/demands/{demand_id}/events").json()
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        (None, "open"), ("open", "in_progress"), ("in_progress", "escalated"),
        ("escalated", "in_progress"), ("in_progress", "resolved"),
    ]  # fmt: skip
    assert events[0]["actor"] == "王网格员" and events[-1]["actor"] == "张书记"


@pytest.mark.parametrize(
    ("path", "target", "status"),
    [
        ((), "resolved", 409),  # open cannot jump to resolved
        (("in_progress", "resolved"), "in_progress", 409),  # resolved is final
        (("in_progress", "resolved"), "escalated", 409),
        ((), "open", 409),
        ((), "done", 422),  # not a status at all
    ],
)
def test_illegal_transition_is_refused(
    session: Session,
    client: TestClient,
    path: tuple[str, ...],
    target: str,
    status: int,
) -> None:
    make_town(session)
    demand_id = raise_demand(session, "H001")
    move(session, demand_id, *path)
    response = client.post(
        f"{BASE}/demands/{demand_id}/transitions", json={"status": target, "actor": "x"}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "status"
    events = client.get(f"{BASE}/demands/{demand_id}/events").json()
    assert len(events) == 1 + len(path)  # nothing recorded by the refusal


def test_unknown_demand_is_404(session: Session, client: TestClient) -> None:
    make_town(session)
    response = client.post(
        f"{BASE}/demands/999999/transitions", json={"status": "resolved", "actor": "x"}
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


def test_closure_rates_roll_up_the_grid_tree(
    session: Session, client: TestClient
) -> None:
    make_town(session)
    a1, a2, _ = (raise_demand(session, h) for h in ("H001", "H002", "H004"))
    b1 = raise_demand(session, "H005")
    move(session, a1, "in_progress", "resolved")
    move(session, a2, "escalated", "resolved")
    move(session, b1, "escalated")
    report = closure_report(session, township=TOWNSHIP)
    assert report.township.summary == "4 collected, 2 resolved, 50.0%"
    rows = {r.code: r for r in report.grids}
    assert [r.code for r in report.grids] == ["R", "A", "B"]
    assert rows["R"].summary == "4 collected, 2 resolved, 50.0%"
    assert rows["A"].summary == "3 collected, 2 resolved, 66.7%"
    assert (rows["A"].open, rows["A"].escalated) == (1, 0)
    assert rows["B"].summary == "1 collected, 0 resolved, 0.0%"
    assert rows["B"].escalated == 1
    alone = closure_report(session, township=TOWNSHIP, grids=False)
    assert (alone.township, alone.grids) == (report.township, [])
    api = client.get(f"{BASE}/demands/closure").json()
    assert api["township"]["collected"] == 4
    assert api["grids"][1]["closure_rate"] == pytest.approx(2 / 3)


def test_overdue_list_most_overdue_first(session: Session, client: TestClient) -> None:
    make_town(session)
    late2 = raise_demand(session, "H001", "2026-06-08")
    late5 = raise_demand(session, "H005", "2026-06-05")
    done = raise_demand(session, "H002", "2026-06-01")
    raise_demand(session, "H003", "2026-06-30")  # not yet due
    raise_demand(session, "H004")  # no due date
    move(session, done, "in_progress", "resolved")
    response = client.get(
        f"{BASE}/demands", params={"overdue": "true", "as_of": "2026-06-10"}
    )
    assert response.status_code == 200
    body = response.json()
    assert [(d["id"], d["overdue_days"]) for d in body["items"]] == [
        (late5, 5),
        (late2, 2),
    ]
    assert (body["numberMatched"], body["numberReturned"]) == (2, 2)
    in_a = client.get(
        f"{BASE}/demands",
        params={"overdue": "true", "as_of": "2026-06-10", "grid": "A"},
    ).json()
    assert [d["id"] for d in in_a["items"]] == [late2]
    assert client.get(f"{BASE}/demands", params={"grid": "Z"}).status_code == 404
