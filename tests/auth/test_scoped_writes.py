"""Writes under the row policies of grid leaders and cadres, through the API.

A cadre's hazard re-checks were refused the same way: re-checks are stops in the
responsible cadre's route, but their write policy allowed leaders only, so the
check's row lock found nothing and the cadre read "does not exist".

A demand and its 'raised' event were one statement (a CTE): the event's policy
looks the demand up, and rows a CTE inserts are invisible to the rest of its
statement, so every demand a leader or a cadre raised was refused.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.auth.policy import LEADER_UP
from tests.auth.factories_scope import make_world
from tests.factories import TOWNSHIP
from tests.layers.factories_hazards import insert_hazard

A = f"/townships/{TOWNSHIP}"


@pytest.mark.parametrize("user", ["admin_a", "leader_a", "cadre_c1"])
def test_each_writing_role_raises_demands_on_its_own_households(
    session: Session, app: FastAPI, user: str
) -> None:
    world = make_world(session)
    client = TestClient(app, raise_server_exceptions=False)
    headers = world.headers[user]
    alone = client.post(
        f"{A}/demands",
        json={"household": "H001", "category": "medical", "description": "送药"},
        headers=headers,
    )
    assert alone.status_code == 201, alone.text
    with_visit = client.post(
        f"{A}/visits",
        json={
            "household": "H002",
            "visited_at": "2026-11-30T10:00:00+08:00",
            "demands": [{"category": "employment", "description": "找工作"}],
        },
        headers=headers,
    )
    assert with_visit.status_code == 201, with_visit.text
    events = session.execute(
        text(
            "SELECT h.code, e.to_status FROM demand_events e"
            " JOIN demands d ON d.township_code = e.township_code"
            "  AND d.id = e.demand_id"
            " JOIN households h ON h.township_code = d.township_code"
            "  AND h.id = d.household_id"
            " WHERE e.township_code = :t AND d.description IN ('送药', '找工作')"
            " ORDER BY h.code"
        ),
        {"t": TOWNSHIP},
    ).all()
    assert [tuple(r) for r in events] == [("H001", "open"), ("H002", "open")]
    outside = client.post(
        f"{A}/demands",
        json={"household": "H005", "category": "medical", "description": "越权"},
        headers=headers,
    )
    expected = 201 if user == "admin_a" else 404  # H005 is grid B's, C2's
    assert outside.status_code in ((expected,) if expected == 201 else (404, 422))


def test_a_cadre_records_re_checks_but_leaves_workflow_steps_to_leaders(
    session: Session, app: FastAPI
) -> None:
    world = make_world(session)
    insert_hazard(session, "Z1", "POINT(102.5005 37.1005)")  # grid A: C1's grid
    insert_hazard(session, "Z2", "POINT(102.5105 37.1005)")  # grid B: not C1's
    client = TestClient(app, raise_server_exceptions=False)
    cadre = world.headers["cadre_c1"]
    check = client.post(
        f"{A}/hazards/Z1/checks", json={"actor": "cadre_c1", "note": "裂缝未扩大"},
        headers=cadre,
    )  # fmt: skip
    assert check.status_code == 200, check.text
    assert check.json()["events"][-1]["kind"] == "check"
    outside = client.post(
        f"{A}/hazards/Z2/checks", json={"actor": "cadre_c1"}, headers=cadre
    )
    assert outside.status_code == 404, outside.text  # another grid's: not there
    for path in (f"{A}/hazards/Z1/transitions", f"{A}/disputes/1/transitions"):
        step = client.post(
            path, json={"to": "rectifying", "actor": "cadre_c1", "note": "x"},
            headers=cadre,
        )  # fmt: skip
        assert step.status_code == 403, step.text
        assert "grid leader" in step.json()["detail"]
    leader = client.post(
        f"{A}/hazards/Z1/transitions",
        json={"to": "rectifying", "actor": "leader_a"},
        headers=world.headers["leader_a"],
    )
    assert leader.status_code == 200, leader.text


def test_every_leader_only_route_exists(session: Session, app: FastAPI) -> None:
    """A template that names no route would guard nothing."""
    api = {
        (method.upper(), path)
        for path, ops in app.openapi()["paths"].items()
        for method in ops
    }
    world = make_world(session)
    client = TestClient(app, raise_server_exceptions=False)
    for method, path in LEADER_UP:
        if path.startswith("/townships/"):
            assert (method, path.replace(":int", "")) in api, path
        else:  # workbench pages are not in the OpenAPI: ask as a cadre
            url = path.format(township=TOWNSHIP, code="Z1", dispute_id=1)
            refused = client.post(url, headers=world.headers["cadre_c1"])
            assert refused.status_code == 403, (url, refused.text)
            assert "grid leader" in refused.text, refused.text
