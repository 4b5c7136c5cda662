"""The hazard ledger: workflow, illegal moves, import/PATCH rules, cadre, grids."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

import geopandas as gpd
import pyogrio
from shapely.geometry import Point

from tests.factories import TOWNSHIP
from tests.layers.factories_hazards import (
    SQUARE,
    HazardWorld,
    insert_hazard,
    make_hazard_world,
    rect_polygon,
)
from tests.layers.factories_layers import PROBLEM, upload, write

BASE = f"/townships/{TOWNSHIP}/hazards"
LAYER = f"/townships/{TOWNSHIP}/layers/hazards"
PHOTO = "https://img.example.org/hz/1.jpg"


@pytest.fixture
def world(session: Session) -> HazardWorld:
    return make_hazard_world(session)


def move(client: TestClient, code: str, to: str, **extra: object) -> object:
    return client.post(
        f"{BASE}/{code}/transitions", json={"to": to, "actor": "王干部", **extra}
    )


def test_found_rectifying_closed_with_who_when_and_photos(
    client: TestClient, world: HazardWorld
) -> None:
    response = move(client, "HZ-P", "整改中", note="已设警示牌", attachments=[PHOTO])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "rectifying" and body["status_label"] == "整改中"
    assert body["allowed_transitions"] == ["closed"]
    unnoted = move(client, "HZ-P", "closed")
    assert unnoted.status_code == 422
    assert unnoted.json()["errors"][0]["field"] == "note"
    closed = move(client, "HZ-P", "closed", note="已削坡加固，验收合格").json()
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    assert closed["allowed_transitions"] == [] and closed["next_check_at"] is None
    steps = [(e["from_status"], e["to_status"], e["actor"]) for e in closed["events"]]
    assert steps == [
        ("found", "rectifying", "王干部"),
        ("rectifying", "closed", "王干部"),
    ]
    assert closed["events"][0]["attachments"] == [PHOTO]
    assert all(e["at"] for e in closed["events"])


@pytest.mark.parametrize(
    ("steps", "to", "allowed"),
    [
        ([], "closed", ["rectifying"]),
        ([], "found", ["rectifying"]),
        (["rectifying"], "found", ["closed"]),
        (["rectifying", "closed"], "found", []),
        (["rectifying", "closed"], "rectifying", []),
    ],
)
def test_illegal_moves_are_409_naming_the_allowed_ones(
    client: TestClient, world: HazardWorld, steps: list[str], to: str,
    allowed: list[str],
) -> None:  # fmt: skip
    for step in steps:
        assert move(client, "HZ-P", step, note="ok").status_code == 200
    response = move(client, "HZ-P", to, note="x")
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    error = response.json()["errors"][0]
    assert error["field"] == "to" and error["allowed"] == allowed
    assert "允许" in response.json()["detail"]


def test_unknown_status_bad_url_and_missing_hazard(
    client: TestClient, world: HazardWorld
) -> None:
    assert move(client, "HZ-P", "done").status_code == 422
    bad = move(client, "HZ-P", "rectifying", attachments=["javascript:alert(1)"])
    assert bad.status_code == 422
    assert move(client, "NOPE", "rectifying").status_code == 404


def test_status_cannot_be_patched_or_imported(
    client: TestClient, session: Session, world: HazardWorld, tmp_path: Path
) -> None:
    response = client.patch(
        f"{LAYER}/items/HZ-P", json={"properties": {"status": "closed"}}
    )
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "status"
    assert f"POST /townships/{TOWNSHIP}/hazards/HZ-P/transitions" in error["reason"]
    same = client.patch(f"{LAYER}/items/HZ-P", json={"properties": {"status": "found"}})
    assert same.status_code == 200
    edit = client.patch(
        f"{LAYER}/items/HZ-P", json={"properties": {"description": "坡体裂缝"}}
    )
    assert edit.status_code == 200
    frame = gpd.GeoDataFrame(
        {"code": ["HZ-P"], "kind": ["landslide"], "status": ["closed"]},
        geometry=[Point(102.495, 37.1)], crs=4326,
    )  # fmt: skip
    imported = upload(client, "hazards", write(frame, tmp_path / "z.geojson"))
    assert imported.status_code == 422
    status = session.execute(text("SELECT status FROM hazards WHERE code = 'HZ-P'"))
    assert status.scalar_one() == "found"


def test_polygon_and_point_hazards_import_with_chinese_kinds(
    client: TestClient, session: Session, world: HazardWorld, tmp_path: Path
) -> None:
    across = rect_polygon(102.498, 37.09, 102.502, 37.092)  # over G-W | G-E
    frame = gpd.GeoDataFrame(
        {"code": ["HZ-X", "HZ-Y"], "类型": ["滑坡", "用电"], "等级": ["高", "低"],
         "责任人": ["C2", None]},
        geometry=[across, Point(102.49, 37.11)], crs=4326,
    )  # fmt: skip
    response = upload(client, "hazards", write(frame, tmp_path / "z.geojson"))
    assert response.status_code == 200, response.text
    x = client.get(f"{BASE}/HZ-X").json()
    assert x["geometry_type"] == "MULTIPOLYGON" and x["kind"] == "landslide"
    assert x["severity"] == "high" and x["grids"] == ["G-E", "G-W"]
    assert x["grid"] == "G"  # the deepest grid holding all of it
    assert x["cadre"]["code"] == "C2" and x["cadre"]["assigned"] is True
    y = client.get(f"{BASE}/HZ-Y").json()
    assert y["kind"] == "electrical" and y["kind_label"] == "用电"
    assert y["geometry_type"] == "POINT" and y["grids"] == ["G-W"]
    # default cadre: the nearest cadre of its grid, phone masked
    assert y["cadre"] == {"id": world.cadres["C1"], "code": "C1", "name": "干部C1",
                          "phone": "138****1111", "assigned": False}  # fmt: skip
    assert y["warn_radius_m"] == 50.0 and y["warn_radius_is_default"] is True
    geojson = client.get(f"{LAYER}/export?format=geojson")
    kinds = {f["geometry"]["type"] for f in geojson.json()["features"]}
    assert kinds == {"Point", "MultiPolygon"}
    gpkg = client.get(f"{LAYER}/export?format=gpkg")
    assert gpkg.status_code == 200
    back = pyogrio.read_dataframe(io.BytesIO(gpkg.content))
    assert set(back.geom_type) == {"Point", "MultiPolygon"}
    shp = client.get(f"{LAYER}/export?format=shp")
    assert shp.status_code == 422 and shp.json()["errors"][0]["field"] == "format"


def test_line_hazards_are_refused(
    client: TestClient, world: HazardWorld, tmp_path: Path
) -> None:
    body = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"code": "HZ-L", "kind": "road"},
        "geometry": {"type": "LineString",
                     "coordinates": [[102.49, 37.1], [102.491, 37.1]]}}]}  # fmt: skip
    path = tmp_path / "l.geojson"
    path.write_text(json.dumps(body))
    response = upload(client, "hazards", path)
    assert response.status_code == 422
    assert "Polygon" in response.json()["errors"][0]["reason"]


def test_overdue_and_filters(
    client: TestClient, session: Session, world: HazardWorld
) -> None:
    insert_hazard(session, "HZ-O", "POINT(102.49 37.09)", kind="fire",
                  deadline="2020-01-01")  # fmt: skip
    insert_hazard(
        session, "HZ-D", "POINT(102.49 37.091)", kind="fire", status="closed",
        deadline="2020-01-01", closed_days_ago=1,
    )  # fmt: skip
    overdue = client.get(f"{BASE}/overdue").json()
    assert [h["code"] for h in overdue["items"]] == ["HZ-O"]
    assert overdue["items"][0]["overdue"] is True
    assert overdue["items"][0]["overdue_days"] > 2000
    by_kind = client.get(BASE, params={"kind": "火灾"}).json()
    assert [h["code"] for h in by_kind["items"]] == ["HZ-D", "HZ-O"]
    open_ = client.get(BASE, params={"open": "true", "grid": "G-W"}).json()
    assert [h["code"] for h in open_["items"]] == ["HZ-O", "HZ-P"]
    by_cadre = client.get(BASE, params={"cadre": "C2"}).json()
    assert [h["code"] for h in by_cadre["items"]] == ["HZ-A"]
    assert client.get(BASE, params={"status": "已销号"}).json()["total"] == 1
    assert client.get(BASE, params={"grid": "NOPE"}).status_code == 422


def test_polygon_detail_has_its_geometry(
    client: TestClient, world: HazardWorld
) -> None:
    body = client.get(f"{BASE}/HZ-A").json()
    assert body["geometry"]["type"] == "MultiPolygon"
    ring = body["geometry"]["coordinates"][0][0]
    assert {tuple(c) for c in ring} == {tuple(c) for c in SQUARE.exterior.coords}
    assert client.get(f"{BASE}/NOPE").status_code == 404


def test_pages_count_every_match_with_and_without_the_cadre_filter(
    client: TestClient, session: Session, world: HazardWorld
) -> None:
    insert_hazard(session, "HZ-O", "POINT(102.49 37.09)", kind="fire")
    insert_hazard(session, "HZ-Q", "POINT(102.491 37.09)", kind="flood")
    # the responsible cadre is picked for the page's rows only unless the cadre
    # filter needs it for every row: both ways the total counts every match and
    # the pages put together are the whole list
    whole = client.get(BASE, params={"limit": 100}).json()
    codes = [h["code"] for h in whole["items"]]
    assert whole["total"] == len(codes) >= 4
    paged = [
        client.get(BASE, params={"limit": 1, "offset": k}).json()
        for k in range(len(codes))
    ]
    assert [p["items"][0]["code"] for p in paged] == codes
    assert {p["total"] for p in paged} == {len(codes)}
    cadre = whole["items"][0]["cadre"]["code"]
    mine = [h["code"] for h in whole["items"] if h["cadre"]["code"] == cadre]
    first = client.get(BASE, params={"cadre": cadre, "limit": 1}).json()
    assert first["total"] == len(mine)
    assert [h["code"] for h in first["items"]] == mine[:1]
