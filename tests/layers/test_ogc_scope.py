"""The OGC API is scoped like the rest: RLS rows only, numberMatched counts them."""

from __future__ import annotations

from typing import Any

import mapbox_vector_tile
import morecantile
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.factories import OTHER_TOWNSHIP, TOWNSHIP

# Sign-in and row-level security come with the access work; until it is on the
# branch there is no scope to test (verified against it before landing).
scope = pytest.importorskip("tests.auth.factories_scope")
IN_SCOPE: dict[str, set[str]] = scope.IN_SCOPE
World = Any

HH = f"/ogc/collections/{TOWNSHIP}.households"
SCOPED = ["admin_a", "leader_a", "cadre_c1"]


@pytest.fixture
def world(session: Session) -> World:
    return scope.make_world(session)


@pytest.fixture
def anon(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def codes(body: dict[str, Any]) -> set[str]:
    return {f["properties"]["code"] for f in body["features"]}


@pytest.mark.parametrize("user", SCOPED)
def test_items_and_number_matched_are_scoped(
    anon: TestClient, world: World, user: str
) -> None:
    auth = world.headers[user]
    page = anon.get(f"{HH}/items", params={"limit": 2, "sortby": "code"}, headers=auth)
    assert page.status_code == 200, page.text
    assert page.json()["numberMatched"] == len(IN_SCOPE[user])
    every = anon.get(f"{HH}/items", params={"limit": 100}, headers=auth).json()
    assert codes(every) == IN_SCOPE[user]
    filtered = anon.get(
        f"{HH}/items", params={"filter": "code IN ('H001', 'H004')"}, headers=auth
    ).json()
    assert filtered["numberMatched"] == len(IN_SCOPE[user] & {"H001", "H004"})
    for code, fid in world.households.items():
        item = anon.get(f"{HH}/items/{fid}", headers=auth)
        assert item.status_code == (200 if code in IN_SCOPE[user] else 404), code


@pytest.mark.parametrize("user", SCOPED)
def test_tiles_are_scoped(anon: TestClient, world: World, user: str) -> None:
    tile = morecantile.tms.get("WebMercatorQuad").tile(102.501, 37.101, 10)
    response = anon.get(
        f"/ogc/tiles/{TOWNSHIP}.households/10/{tile.x}/{tile.y}.pbf",
        headers=world.headers[user],
    )
    assert response.status_code in (200, 204)
    layer = mapbox_vector_tile.decode(response.content).get("households", {})
    seen = {f["properties"]["code"] for f in layer.get("features", [])}
    assert seen == IN_SCOPE[user]


def test_tiles_in_turn_on_one_connection_keep_each_scope(
    anon: TestClient, world: World
) -> None:
    """The prepared tile statement, planned for one role, never serves another's."""
    tile = morecantile.tms.get("WebMercatorQuad").tile(102.501, 37.101, 10)
    url = f"/ogc/tiles/{TOWNSHIP}.households/10/{tile.x}/{tile.y}.pbf"
    for user in [*SCOPED, *reversed(SCOPED), "leader_a", "leader_a", "cadre_c1"]:
        response = anon.get(url, headers=world.headers[user])
        layer = mapbox_vector_tile.decode(response.content).get("households", {})
        seen = {f["properties"]["code"] for f in layer.get("features", [])}
        assert seen == IN_SCOPE[user], user


def test_collections_list_only_townships_in_scope(
    anon: TestClient, world: World
) -> None:
    mine = anon.get("/ogc/collections", headers=world.headers["admin_b"]).json()
    assert {c["id"].split(".")[0] for c in mine["collections"]} == {OTHER_TOWNSHIP}
    other = anon.get(f"{HH}/items", headers=world.headers["admin_b"])
    assert other.status_code == 404


def test_sign_in_required_and_viewers_see_no_features(
    anon: TestClient, world: World
) -> None:
    assert anon.get(f"{HH}/items").status_code == 401
    assert anon.get(f"{HH}/items", headers=world.headers["viewer_a"]).status_code == 403


def test_tile_of_a_township_out_of_scope_or_missing_is_404(
    anon: TestClient, world: World
) -> None:
    """The township check travels in the tile's statement; its answers stay."""
    tile = morecantile.tms.get("WebMercatorQuad").tile(102.501, 37.101, 10)
    url = f"/ogc/tiles/{TOWNSHIP}.households/10/{tile.x}/{tile.y}.pbf"
    assert anon.get(url, headers=world.headers["admin_b"]).status_code == 404
    missing = url.replace(TOWNSHIP, "999999999999")
    assert anon.get(missing, headers=world.headers["admin_a"]).status_code == 404
    far = f"/ogc/tiles/{TOWNSHIP}.households/10/0/0.pbf"
    assert anon.get(far, headers=world.headers["admin_a"]).status_code == 204


def test_a_signed_in_tile_is_two_round_trips(
    anon: TestClient, world: World, session: Session
) -> None:
    """User and scope, then the tile: every setting travels with a statement."""
    tile = morecantile.tms.get("WebMercatorQuad").tile(102.501, 37.101, 10)
    url = f"/ogc/tiles/{TOWNSHIP}.households/10/{tile.x}/{tile.y}.pbf"
    anon.get(url, headers=world.headers["leader_a"])  # prepares the statements
    sent: list[str] = []
    conn = session.connection()

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(conn, "after_cursor_execute", record)
    try:
        response = anon.get(url, headers=world.headers["leader_a"])
    finally:
        event.remove(conn, "after_cursor_execute", record)
    assert response.status_code == 200
    # the test's own: savepoints and the service login (tests/conftest.py)
    harness = ("SAVEPOINT", "RELEASE", "ROLLBACK", "SET SESSION", "RESET SESSION")
    ours = [s for s in sent if not s.split("; ")[-1].lstrip().startswith(harness)]
    assert len(ours) == 2, ours
    lookup, tiled = ours
    assert "'role', 'gridgis_system'" in lookup and "EXECUTE gridgis_" in lookup
    assert "'role', 'gridgis_leader'" in tiled and "plan_cache_mode" in tiled
    assert tiled.rstrip().split("; ")[-1].startswith("EXECUTE gridgis_")
