"""Writes under the row policies of grid leaders and cadres, through the API.

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

from tests.auth.factories_scope import make_world
from tests.factories import TOWNSHIP

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
