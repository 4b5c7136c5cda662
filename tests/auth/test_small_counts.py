"""Viewers get counts of 1-4 as "<5"; everyone else the numbers."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gis_service.core.auth.suppress import SMALL, suppress
from tests.auth.factories_scope import World
from tests.factories import TOWNSHIP

A = f"/townships/{TOWNSHIP}"


@pytest.fixture
def anon(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def test_rule() -> None:
    row = {
        "grid_id": 3,
        "depth": 2,
        "households": 3,
        "visited": 0,
        "visited_share": 0.0,
        "tagged": {"低保": 1, "残疾": 12},
        "summary": "3 collected",
        "closure_rate": 0.5,
    }
    out = suppress({"rows": [row], "rules": {"default_days": 3}})
    got = out["rows"][0]
    assert got["grid_id"] == 3 and got["depth"] == 2  # structure stays
    assert got["households"] == SMALL and got["visited"] == 0
    assert got["tagged"] == {"低保": SMALL, "残疾": 12}
    assert got["visited_share"] is None and got["closure_rate"] is None
    assert got["summary"] is None
    assert out["rules"] == {"default_days": 3}


def by_code(rows: list[dict]) -> dict[str, dict]:
    return {r["code"]: r for r in rows if r.get("code")}


def test_a_viewer_sees_small_grids_as_fewer_than_five(
    anon: TestClient, world: World
) -> None:
    viewer = anon.get(f"{A}/coverage/grids", headers=world.headers["viewer_a"])
    admin = anon.get(f"{A}/coverage/grids", headers=world.headers["admin_a"])
    assert viewer.status_code == admin.status_code == 200
    seen, whole = by_code(viewer.json()["rows"]), by_code(admin.json()["rows"])
    assert whole["A"]["households"] == 4 and whole["B"]["households"] == 2
    assert seen["A"]["households"] == SMALL and seen["B"]["households"] == SMALL
    assert seen["A"]["visited_share"] is None
    assert whole["A"]["visited_share"] is not None
    assigned = anon.get(f"{A}/assignment/grids", headers=world.headers["viewer_a"])
    assert {r["households"] for r in assigned.json() if r["code"] in "AB"} == {SMALL}


def test_the_viewers_home_page_follows_the_same_rule(
    anon: TestClient, world: World
) -> None:
    page = anon.get(f"/w/{TOWNSHIP}", headers=world.headers["viewer_a"])
    assert page.status_code == 200
    assert "&lt;5" in page.text  # grids A (4) and B (2)
    admin = anon.get(f"/w/{TOWNSHIP}", headers=world.headers["admin_a"])
    assert admin.status_code == 200 and "&lt;5" not in admin.text


def test_a_structural_name_holding_rows_is_still_looked_into() -> None:
    out = suppress({"grids": [{"code": "A", "households": 2}], "cadres": 3})
    assert out == {"grids": [{"code": "A", "households": SMALL}], "cadres": 3}
