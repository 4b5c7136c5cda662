"""Rectification statistics per grid subtree and township, and the overdue list."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import TOWNSHIP
from tests.layers.factories_hazards import HazardWorld, insert_hazard, make_hazard_world

BASE = f"/townships/{TOWNSHIP}/hazards"


@pytest.fixture
def world(session: Session) -> HazardWorld:
    world = make_hazard_world(session)  # HZ-P found in G-W, HZ-A found in G-E
    insert_hazard(session, "HZ-1", "POINT(102.49 37.09)", status="closed",
                  found_days_ago=10, closed_days_ago=4)  # fmt: skip
    insert_hazard(
        session, "HZ-2", "POINT(102.49 37.091)", status="closed", found_days_ago=20,
        closed_days_ago=10, deadline="2020-01-01",
    )  # fmt: skip
    insert_hazard(session, "HZ-3", "POINT(102.52 37.09)", status="rectifying",
                  deadline="2020-01-01")  # fmt: skip
    return world


def test_stats_per_grid_subtree_and_township(
    client: TestClient, world: HazardWorld
) -> None:
    response = client.get(f"{BASE}/stats")
    assert response.status_code == 200, response.text
    rows = {r["grid"]: r for r in response.json()["rows"]}
    numbers = ("total", "found", "rectifying", "closed", "overdue")
    assert [rows[None][k] for k in numbers] == [5, 2, 1, 2, 1]
    assert rows[None]["rate"] == 0.4
    assert rows[None]["median_days_to_close"] == pytest.approx(8.0, abs=0.01)
    assert [rows["G"][k] for k in numbers] == [5, 2, 1, 2, 1]
    assert [rows["G-W"][k] for k in numbers] == [3, 1, 0, 2, 0]
    assert rows["G-W"]["rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert [rows["G-E"][k] for k in numbers] == [2, 1, 1, 0, 1]
    assert rows["G-E"]["median_days_to_close"] is None
    sub = client.get(f"{BASE}/stats", params={"grid": "G-W"}).json()["rows"]
    assert [r["grid"] for r in sub] == ["G-W"]
    fires = client.get(f"{BASE}/stats", params={"kind": "火灾"}).json()["rows"]
    assert fires[0]["total"] == 0 and fires[0]["rate"] is None


def test_overdue_list_leaves_closed_hazards_out(
    client: TestClient, world: HazardWorld
) -> None:
    body = client.get(f"{BASE}/overdue").json()
    assert [h["code"] for h in body["items"]] == ["HZ-3"]
    assert body["items"][0]["cadre"]["code"] == "C2"
