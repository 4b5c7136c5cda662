"""Role x endpoint: each role gets exactly the rows in its scope (RLS), 404 for
another scope's ids, 403 for what the role may not do at all."""

from __future__ import annotations

import io
import json

import pytest
from fastapi.testclient import TestClient

from tests.auth.factories_scope import IN_SCOPE, World
from tests.factories import OTHER_TOWNSHIP, TOWNSHIP

A = f"/townships/{TOWNSHIP}"
SCOPED = ["admin_a", "leader_a", "cadre_c1"]


def codes(body: dict) -> set[str]:
    return {f["properties"]["code"] for f in body["features"]}


@pytest.mark.parametrize("user", SCOPED)
def test_household_list_item_and_export_are_scoped(
    anon: TestClient, world: World, user: str
) -> None:
    auth = world.headers[user]
    listed = anon.get(f"{A}/layers/households/items", headers=auth)
    assert listed.status_code == 200, listed.text
    assert codes(listed.json()) == IN_SCOPE[user]
    assert listed.json()["numberMatched"] == len(IN_SCOPE[user])
    exported = anon.get(f"{A}/layers/households/export?format=geojson", headers=auth)
    assert exported.status_code == 200
    assert codes(json.loads(exported.content)) == IN_SCOPE[user]
    for code in ("H001", "H004", "H006"):
        item = anon.get(f"{A}/layers/households/items/{code}", headers=auth)
        assert item.status_code == (200 if code in IN_SCOPE[user] else 404), (
            code,
            item.text,
        )


def test_another_townships_admin_sees_nothing_here(
    anon: TestClient, world: World
) -> None:
    auth = world.headers["admin_b"]
    for path in ("", "/layers/households/items", "/visits", "/demands"):
        assert anon.get(A + path, headers=auth).status_code == 404, path
    mine = anon.get(
        f"/townships/{OTHER_TOWNSHIP}/layers/households/items", headers=auth
    )
    assert codes(mine.json()) == {"H001", "H002"}
    listed = anon.get("/townships", headers=auth).json()
    assert [t["code"] for t in listed] == [OTHER_TOWNSHIP]


@pytest.mark.parametrize(
    ("user", "grids", "cadres"),
    [
        ("admin_a", {"R", "A", "B"}, {"C1", "C2", "C3"}),
        ("leader_a", {"A"}, {"C1", "C3"}),
        ("cadre_c1", {"A"}, {"C1"}),
    ],
)
def test_grids_and_cadres_are_scoped(
    anon: TestClient, world: World, user: str, grids: set[str], cadres: set[str]
) -> None:
    auth = world.headers[user]
    got = anon.get(f"{A}/layers/grids/items", headers=auth).json()
    assert codes(got) == grids
    got = anon.get(f"{A}/layers/cadres/items", headers=auth).json()
    assert codes(got) == cadres


@pytest.mark.parametrize("user", SCOPED)
def test_visits_and_demands_are_scoped(
    anon: TestClient, world: World, user: str
) -> None:
    auth = world.headers[user]
    visits = anon.get(f"{A}/visits", headers=auth)
    assert visits.status_code == 200, visits.text
    listed = visits.json()
    listed = listed if isinstance(listed, list) else listed["items"]
    assert {v["household"] for v in listed} == IN_SCOPE[user]
    demands = anon.get(f"{A}/demands", headers=auth)
    assert demands.status_code == 200, demands.text
    body = demands.json()
    items = body if isinstance(body, list) else body["items"]
    assert {d["household"] for d in items} == IN_SCOPE[user]
    for code, demand_id in world.demands.items():
        one = anon.get(f"{A}/demands/{demand_id}", headers=auth)
        assert one.status_code == (200 if code in IN_SCOPE[user] else 404), code


@pytest.mark.parametrize("user", SCOPED)
def test_coverage_and_maps_are_scoped(
    anon: TestClient, world: World, user: str
) -> None:
    auth = world.headers[user]
    uncovered = anon.get(f"{A}/coverage/uncovered", headers=auth)
    assert uncovered.status_code == 200, uncovered.text
    grids = anon.get(f"{A}/coverage/grids", headers=auth)
    assert grids.status_code == 200, grids.text
    seen = {g["code"] for g in grids.json()["rows"]}
    assert seen <= ({"R", "A", "B"} if user == "admin_a" else {"A"})
    assert grids.json()["township"]["households"] == len(IN_SCOPE[user])
    page = anon.get(f"{A}/maps/coverage?basemap=none", headers=auth)
    assert page.status_code == 200, page.text
    out_of_scope = {"H001", "H004", "H005", "H006"} - IN_SCOPE[user]
    for code in out_of_scope:
        assert f'"{code}"' not in page.text and f">{code}<" not in page.text, code


def test_routes_and_day_plans_are_scoped(anon: TestClient, world: World) -> None:
    cadre = world.headers["cadre_c1"]
    mine = sorted(IN_SCOPE["cadre_c1"])
    body = {"households": mine, "cadre": "C1"}
    own = anon.post(f"{A}/visit-routes", json=body, headers=cadre)
    assert own.status_code == 200, own.text
    stops = {s["household"] for d in own.json()["days"] for s in d["stops"]}
    assert stops == IN_SCOPE["cadre_c1"]
    other = anon.post(f"{A}/visit-routes", json={"cadre": "C2"}, headers=cadre)
    assert other.status_code == 404
    named = anon.post(
        f"{A}/visit-routes", json={"households": ["H001", "H005"]}, headers=cadre
    )
    assert named.status_code in (404, 422), named.text
    leader = world.headers["leader_a"]
    assert (
        anon.post(f"{A}/grids/A/day-plan", json={}, headers=leader).status_code == 200
    )
    assert (
        anon.post(f"{A}/grids/B/day-plan", json={}, headers=leader).status_code == 404
    )


@pytest.mark.parametrize("user", ["leader_a", "cadre_c1", "viewer_a"])
def test_admin_only_operations_are_403(
    anon: TestClient, world: World, user: str
) -> None:
    auth = world.headers[user]
    csv = io.BytesIO(b"code,head_name,lon,lat\nX1,x,102.5,37.1\n")
    calls = [
        ("POST", f"{A}/layers/households/import", {"files": {"file": ("h.csv", csv)}}),
        ("POST", f"{A}/assignment/run", {"json": {}}),
        ("POST", f"{A}/disputes/detect", {"json": {}}),
        ("PUT", f"{A}/visit-rules", {"json": {}}),
        ("DELETE", f"{A}/layers/households/items/H001", {}),
        ("PUT", f"/townships/{TOWNSHIP}", {"json": {"name": "x"}}),
    ]
    for method, url, kwargs in calls:
        response = anon.request(method, url, headers=auth, **kwargs)
        assert response.status_code == 403, (method, url, response.text)


def test_viewer_sees_aggregates_only(anon: TestClient, world: World) -> None:
    auth = world.headers["viewer_a"]
    for path in ("/coverage/grids", "/demands/closure", "/assignment/grids", ""):
        assert anon.get(A + path, headers=auth).status_code == 200, path
    for path in ("/layers/households/items", "/visits", "/demands", "/coverage/cadres"):
        assert anon.get(A + path, headers=auth).status_code == 403, path


@pytest.mark.parametrize(
    ("user", "body", "status"),
    [
        ("cadre_c1", {"properties": {"phone": "13900000000"}}, 200),
        ("cadre_c1", {"properties": {"head_name": "改名"}}, 403),
        (
            "cadre_c1",
            {"geometry": {"type": "Point", "coordinates": [102.5, 37.1]}},
            403,
        ),
        ("leader_a", {"properties": {"head_name": "改名"}}, 200),
        ("leader_a", {"properties": {"code": "H999"}}, 403),
        ("admin_a", {"properties": {"code": "H999"}}, 200),
    ],
)
def test_patch_accepts_only_the_roles_fields(
    anon: TestClient, world: World, user: str, body: dict, status: int
) -> None:
    response = anon.patch(
        f"{A}/layers/households/items/H001", json=body, headers=world.headers[user]
    )
    assert response.status_code == status, response.text


def test_cadre_cannot_edit_grids_or_other_households(
    anon: TestClient, world: World
) -> None:
    auth = world.headers["cadre_c1"]
    grid = anon.patch(
        f"{A}/layers/grids/items/A", json={"properties": {"name": "x"}}, headers=auth
    )
    assert grid.status_code == 403
    other = anon.patch(
        f"{A}/layers/households/items/H005",
        json={"properties": {"phone": "13900000000"}},
        headers=auth,
    )
    assert other.status_code == 404
