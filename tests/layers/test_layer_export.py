"""Export every layer in every format; import -> export -> import changes nothing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import geopandas as gpd
import pyogrio
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from tests.factories import TOWNSHIP, make_township, square
from tests.layers.factories_layers import (
    GEOJSON,
    ID_NUMBER,
    PROBLEM,
    households_frame,
    snapshot,
    upload,
    write,
)

BASE = f"/townships/{TOWNSHIP}/layers"
SUFFIX = {"geojson": "geojson", "gpkg": "gpkg", "shp": "zip"}
LAYERS = ("grids", "households", "cadres", "pasture_parcels", "hazards", "roads")
# A clockwise ring: stored counter-clockwise whatever the file says.
CW = Polygon([(102.6, 37.1), (102.6, 37.11), (102.61, 37.11), (102.61, 37.1)])


def _load_everything(client: TestClient, tmp: Path) -> None:
    grids = gpd.GeoDataFrame(
        {"code": ["G0", "G1"], "name": ["镇", "网格一"], "level": ["core", "grid"],
         "parent_code": [None, "G0"]},
        geometry=[square(102.4, 37.0, 0.3), square(102.4, 37.0, 0.15)], crs=4326,
    )  # fmt: skip
    cadres = gpd.GeoDataFrame(
        {"code": ["C1", "C2"], "name": ["干部甲", "干部乙"],
         "role": ["grid_leader", "party_member"], "phone": ["13900001111", None],
         "home_grid_code": ["G1", None], "capacity": [12, 14], "active": [True, False]},
        geometry=[Point(102.45, 37.05), None], crs=4326,
    )  # fmt: skip
    parcels = gpd.GeoDataFrame(
        {"contract_no": ["CB-1", "CB-2"], "holder_code": ["H1", None],
         "contract_area_mu": [12.345, None]},
        geometry=[CW, MultiPolygon([square(102.5, 37.1, 0.01),
                                    square(102.52, 37.1, 0.005)])], crs=4326,
    )  # fmt: skip
    hazards = gpd.GeoDataFrame(
        {"code": ["Z1", "Z2"], "kind": ["flood", "fire"], "severity": ["high", "low"],
         "status": ["closed", "found"], "description": ["河道淤堵", None],
         "warn_radius_m": [800.0, None], "found_at": ["2026-05-01T08:30:00+08:00",
         "2026-05-02 10:00:15.25"], "deadline": ["2026-06-01", None],
         "closed_at": ["2026-05-20T00:00:00Z", None]},
        geometry=[Point(102.45, 37.05), Point(102.1234567, 37.7654321)], crs=4326,
    )  # fmt: skip
    roads = gpd.GeoDataFrame(
        {"code": ["R1"], "name": ["乡道"], "kind": ["township_road"]},
        geometry=[LineString([(102.4, 37.0), (102.45, 37.05), (102.5, 37.02)])],
        crs=4326,
    )  # fmt: skip
    frames = {
        "grids": grids, "households": households_frame(3), "cadres": cadres,
        "pasture_parcels": parcels, "hazards": hazards, "roads": roads,
    }  # fmt: skip
    for layer, frame in frames.items():
        response = upload(client, layer, write(frame, tmp / f"{layer}.geojson"))
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp"])
def test_round_trip_changes_nothing(
    client: TestClient, session: Session, tmp_path: Path, fmt: str
) -> None:
    make_township(session)
    _load_everything(client, tmp_path)
    before = {layer: snapshot(session, layer) for layer in LAYERS}
    for layer in LAYERS:
        response = client.get(f"{BASE}/{layer}/export?format={fmt}")
        assert response.status_code == 200, response.text
        path = tmp_path / f"out_{layer}.{SUFFIX[fmt]}"
        path.write_bytes(response.content)
        report = upload(client, layer, path)
        assert report.status_code == 200, report.text
        body = report.json()
        n = len(before[layer])
        assert (body["inserted"], body["updated"], body["unchanged"]) == (0, 0, n), (
            layer
        )
        # No format warnings; the fixture's grid tree leaves part of its root
        # uncovered, which every grids import reports.
        assert [w for w in body["warnings"] if not w.startswith("grid hierarchy")] == []
    assert {layer: snapshot(session, layer) for layer in LAYERS} == before


def test_exports_are_masked_utf8_and_wgs84(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    make_township(session)
    upload(client, "households", write(households_frame(2), tmp_path / "h.geojson"))
    geojson = client.get(f"{BASE}/households/export")
    assert geojson.headers["content-type"] == GEOJSON
    assert ID_NUMBER not in geojson.text and "620623********1234" in geojson.text
    shp = client.get(f"{BASE}/households/export?format=shp")
    assert shp.headers["content-type"] == "application/zip"
    assert (
        'filename="620623101000_households.zip"' in shp.headers["content-disposition"]
    )
    with zipfile.ZipFile(io.BytesIO(shp.content)) as archive:
        names = set(archive.namelist())
        assert {"households.shp", "households.dbf", "households.prj"} <= names
        assert archive.read("households.cpg").decode().upper().startswith("UTF-8")
        archive.extractall(tmp_path / "shp")
    frame = pyogrio.read_dataframe(tmp_path / "shp" / "households.shp")
    assert frame.crs.to_epsg() == 4326
    assert list(frame["head_name"]) == ["户主1", "户主2"]
    assert frame["tags"][0] == "低保,残疾" and frame["tags"].isna()[1]
    gpkg = client.get(f"{BASE}/households/export?format=gpkg")
    (tmp_path / "h.gpkg").write_bytes(gpkg.content)
    info = pyogrio.read_info(tmp_path / "h.gpkg")
    assert (info["crs"], info["geometry_type"], info["features"]) == (
        "EPSG:4326", "Point", 2,
    )  # fmt: skip


def test_unknown_format_is_422(client: TestClient, session: Session) -> None:
    make_township(session)
    response = client.get(f"{BASE}/households/export?format=kml")
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "format"


def test_export_selects_like_the_list(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    make_township(session)
    frame = households_frame(4, tags=["低保", "残疾", "低保,残疾", ""])
    upload(client, "households", write(frame, tmp_path / "h.geojson"))
    tagged = client.get(f"{BASE}/households/export", params={"tag": "低保"})
    assert tagged.status_code == 200, tagged.text
    listed = client.get(f"{BASE}/households/items", params={"tag": "低保"}).json()
    codes = [f["id"] for f in tagged.json()["features"]]
    assert codes == [f["properties"]["code"] for f in listed["features"]]
    assert codes == ["H1", "H3"]
    # H1 and H2 lie in the box (102.5..102.515, 37.1..37.115); H3, H4 do not.
    boxed = client.get(
        f"{BASE}/households/export",
        params={"bbox": "102.495,37.095,102.515,37.115", "format": "gpkg"},
    )
    (tmp_path / "box.gpkg").write_bytes(boxed.content)
    read = pyogrio.read_dataframe(tmp_path / "box.gpkg")
    assert sorted(read["code"]) == ["H1", "H2"]
    wrong = client.get(f"{BASE}/households/export", params={"status": "found"})
    assert wrong.status_code == 422
    assert wrong.headers["content-type"] == PROBLEM
    assert wrong.json()["errors"][0]["field"] == "status"
