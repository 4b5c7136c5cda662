"""Open hazards due for a re-check become stops of their cadre's route and day plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import TOWNSHIP
from tests.layers.factories_hazards import HazardWorld, insert_hazard, make_hazard_world
from tests.maps.test_map_pages import js

BASE = f"/townships/{TOWNSHIP}"


@pytest.fixture
def world(session: Session) -> HazardWorld:
    # HZ-P: high, found 10 days ago -> due (every 7 days), cadre C1 (G-W)
    # HZ-A: medium, found 10 days ago -> due in 4 days (every 14), cadre C2 (G-E)
    return make_hazard_world(session)


def _stops(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for d in plan["days"] for s in d["stops"]]


def _plan(client: TestClient, cadre: str, **extra: Any) -> dict[str, Any]:
    body = {"cadre": cadre, "time_limit_s": 0.3, **extra}
    response = client.post(f"{BASE}/visit-routes", json=body)
    assert response.status_code == 200, response.text
    plan: dict[str, Any] = response.json()
    return plan


def test_a_due_hazard_is_a_stop_of_its_cadres_next_route(
    client: TestClient, world: HazardWorld
) -> None:
    plan = _plan(client, "C1")
    hazards = [s for s in _stops(plan) if s["kind"] == "hazard"]
    assert [(s["ref"], s["household"]) for s in hazards] == [("HZ-P", None)]
    assert hazards[0]["label"].startswith("隐患复查 HZ-P")
    homes = [s for s in _stops(plan) if s["kind"] == "household"]
    assert len(homes) == 9  # C1's never-visited households, beside the hazard
    features = [
        f["properties"] for f in plan["geojson"]["features"]
        if f["properties"]["kind"] == "stop"
    ]  # fmt: skip
    assert [p["ref"] for p in features if p["stop_kind"] == "hazard"] == ["HZ-P"]
    # C2's medium hazard is not due yet; four days on it is
    assert not [s for s in _stops(_plan(client, "C2")) if s["kind"] == "hazard"]
    later = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    refs = [s["ref"] for s in _stops(_plan(client, "C2", as_of=later))]
    assert "HZ-A" in refs
    assert not [s for s in _stops(_plan(client, "C1", extra_stops=False))
                if s["kind"] == "hazard"]  # fmt: skip


def test_a_recheck_or_closing_takes_the_stop_away(
    client: TestClient, session: Session, world: HazardWorld
) -> None:
    checked = client.post(
        f"{BASE}/hazards/HZ-P/checks", json={"actor": "干部C1", "note": "无变化"}
    )
    assert checked.status_code == 200, checked.text
    assert checked.json()["events"][-1]["kind"] == "check"
    assert not [s for s in _stops(_plan(client, "C1")) if s["kind"] == "hazard"]
    insert_hazard(session, "HZ-X", "POINT(102.49 37.09)", severity="critical",
                  status="closed", closed_days_ago=1)  # fmt: skip
    assert not [s for s in _stops(_plan(client, "C1")) if s["kind"] == "hazard"]
    closed = client.post(f"{BASE}/hazards/HZ-X/checks", json={"actor": "干部C1"})
    assert closed.status_code == 409


@pytest.mark.parametrize("rebalance", [False, True])
def test_day_plan_keeps_the_recheck_with_its_cadre(
    client: TestClient, world: HazardWorld, rebalance: bool
) -> None:
    response = client.post(
        f"{BASE}/grids/G/day-plan",
        json={"time_limit_s": 0.5, "rebalance": rebalance},
    )
    assert response.status_code == 200, response.text
    by_cadre = {c["cadre"]: _stops(c["route"]) for c in response.json()["cadres"]}
    assert [s["ref"] for s in by_cadre["C1"] if s["kind"] == "hazard"] == ["HZ-P"]
    assert not [s for s in by_cadre["C2"] if s["kind"] == "hazard"]


def test_route_map_marks_the_recheck_stop(
    client: TestClient, world: HazardWorld
) -> None:
    response = client.get(f"{BASE}/maps/routes/C1", params={"basemap": "none"})
    assert response.status_code == 200, response.text
    page = response.text
    assert "gridgis-stop extra" in page and "隐患复查 HZ-P" in page
    assert js("data-hazard-stops='1'") in page
