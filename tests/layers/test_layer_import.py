"""Importing layers: formats, CRS, idempotence, dry runs and the layer tree."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

import geopandas as gpd
import pyogrio
from shapely.geometry import LineString, Point

from tests.factories import make_township, square
from tests.layers.factories_layers import (
    ID_NUMBER,
    count,
    households_frame,
    snapshot,
    upload,
    write,
)


@pytest.fixture(autouse=True)
def township(session: Session) -> str:
    return make_township(session)


def _stored(session: Session) -> list[tuple]:
    return list(
        session.execute(
            text(
                "SELECT code, head_name, members, village, tags, id_number, "
                "ST_X(geom), ST_Y(geom) FROM households ORDER BY code"
            )
        )
    )


def test_geojson_import_then_reimport_changes_nothing(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    path = write(households_frame(), tmp_path / "h.geojson")
    first = upload(client, "households", path)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["inserted"], body["updated"], body["unchanged"]) == (3, 0, 0)
    assert body["written"] is True and body["crs"] == "EPSG:4326"
    assert _stored(session)[0] == (
        "H1",
        "户主1",
        1,
        "南泥沟村",
        ["低保", "残疾"],
        ID_NUMBER,
        102.5,
        37.1,
    )
    before = snapshot(session, "households")
    again = upload(client, "households", path).json()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert snapshot(session, "households") == before


def test_changed_rows_are_updated_and_counted(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    upload(client, "households", write(households_frame(), tmp_path / "a.geojson"))
    changed = households_frame(4, members=[1, 9, 3, 4])
    body = upload(client, "households", write(changed, tmp_path / "b.geojson")).json()
    assert (body["inserted"], body["updated"], body["unchanged"]) == (1, 1, 2)
    members = session.execute(
        text("SELECT members FROM households WHERE code = 'H2'")
    ).scalar_one()
    assert members == 9


def test_dry_run_reports_counts_and_writes_nothing(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    body = upload(
        client,
        "households",
        write(households_frame(), tmp_path / "h.geojson"),
        dry_run=True,
    ).json()
    assert (body["inserted"], body["dry_run"], body["written"]) == (3, True, False)
    assert count(session, "households") == 0


def test_geopackage_layer_must_be_chosen(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "two.gpkg"
    write(households_frame(), path, layer="hh")
    write(households_frame(2), path, layer="other")
    refused = upload(client, "households", path)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "layer"
    assert "hh, other" in refused.json()["detail"]
    body = upload(client, "households", path, layer="hh").json()
    assert (body["inserted"], body["source_layer"]) == (3, "hh")


def test_csv_with_lon_lat_and_xlsx_with_wkt(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    table = pd.DataFrame(
        {
            "code": ["C1", "C2"],
            "head_name": ["甲", "乙"],
            "经度": [102.5, 102.6],
            "纬度": [37.1, 37.2],
            "tags": ["低保、空巢老人", ""],
        }
    )
    table.to_csv(tmp_path / "h.csv", index=False, encoding="gb18030")
    body = upload(client, "households", tmp_path / "h.csv", encoding="gb18030").json()
    assert body["inserted"] == 2
    assert any("no coordinate system" in w for w in body["warnings"])
    sheet = pd.DataFrame(
        {"code": ["X1"], "head_name": ["丙"], "wkt": ["POINT (102.7 37.3)"]}
    )
    sheet.to_excel(tmp_path / "h.xlsx", index=False)
    assert upload(client, "households", tmp_path / "h.xlsx").json()["inserted"] == 1
    rows = session.execute(
        text("SELECT code, tags, ST_AsText(geom) FROM households ORDER BY code")
    ).all()
    assert [tuple(r) for r in rows] == [
        ("C1", ["低保", "空巢老人"], "POINT(102.5 37.1)"),
        ("C2", [], "POINT(102.6 37.2)"),
        ("X1", [], "POINT(102.7 37.3)"),
    ]


@pytest.mark.parametrize("with_cpg", [True, False])
def test_zipped_gbk_shapefile(
    client: TestClient, session: Session, tmp_path: Path, with_cpg: bool
) -> None:
    folder = tmp_path / "shp"
    folder.mkdir()
    pyogrio.write_dataframe(
        households_frame(2, village=["南泥沟村", "永丰滩村"]),
        folder / "h.shp",
        encoding="GBK",
    )
    if not with_cpg:
        (folder / "h.cpg").unlink()
    archive = tmp_path / "h.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in folder.iterdir():
            z.write(part, part.name)
    options = {} if with_cpg else {"encoding": "GBK"}
    body = upload(client, "households", archive, **options).json()
    assert body["inserted"] == 2
    villages = session.execute(
        text("SELECT village FROM households ORDER BY code")
    ).scalars()
    assert list(villages) == ["南泥沟村", "永丰滩村"]


def test_gauss_kruger_file_is_converted(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    frame = households_frame(1).to_crs(4522)  # CGCS2000 3° zone 34 (102°E)
    upload(client, "households", write(frame, tmp_path / "gk.gpkg"))
    x, y = session.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM households")).one()
    assert abs(x - 102.5) < 1e-6 and abs(y - 37.1) < 1e-6  # CGCS2000 ~ WGS84 here


def test_gcj02_option_converts_to_wgs84(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    # wandergis/coordtransform's published pair: WGS84 (116.404, 39.915)
    frame = households_frame(1, geometry=[Point(116.41024449916938, 39.91640428150164)])
    upload(client, "households", write(frame, tmp_path / "g.geojson"), crs="gcj02")
    x, y = session.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM households")).one()
    assert (x, y) == (116.404, 39.915)


def test_grids_tree_from_parent_codes(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    frame = gpd.GeoDataFrame(
        {
            "code": ["G1-1", "G1", "G0"],
            "name": ["网格", "片区", "镇"],
            "level": ["grid", "domain", "core"],
            "parent_code": ["G1", "G0", None],
        },
        geometry=[
            square(102.5, 37.1, 0.05),
            square(102.5, 37.1, 0.1),
            square(102.4, 37.0, 0.3),
        ],
        crs=4326,
    )
    body = upload(client, "grids", write(frame, tmp_path / "g.geojson")).json()
    assert body["inserted"] == 3
    # Faults in the tree load, with a warning each: G1 leaves most of G0 uncovered.
    assert any(w.startswith("grid hierarchy: uncovered (G0") for w in body["warnings"])
    rows = {
        r.code: r
        for r in session.execute(
            text("SELECT id, code, parent_id, depth, path FROM grids")
        )
    }
    g0, g1, leaf = rows["G0"], rows["G1"], rows["G1-1"]
    assert (g0.depth, g0.path, g0.parent_id) == (0, f"/{g0.id}/", None)
    assert (leaf.parent_id, leaf.depth, leaf.path) == (
        g1.id,
        2,
        f"/{g0.id}/{g1.id}/{leaf.id}/",
    )
    assert upload(client, "grids", tmp_path / "g.geojson").json()["unchanged"] == 3


def test_cadres_parcels_hazards_roads_resolve_codes(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    grid = gpd.GeoDataFrame(
        {"code": ["G1"], "name": ["一"], "level": ["grid"]},
        geometry=[square(102.4, 37.0, 0.3)],
        crs=4326,
    )
    upload(client, "grids", write(grid, tmp_path / "g.geojson"))
    upload(client, "households", write(households_frame(1), tmp_path / "h.geojson"))
    cadres = pd.DataFrame(
        {"code": ["C1"], "name": ["干部"], "role": ["grid_leader"], "home_grid": ["G1"]}
    )
    cadres.to_csv(tmp_path / "c.csv", index=False)
    assert upload(client, "cadres", tmp_path / "c.csv").json()["inserted"] == 1
    parcels = gpd.GeoDataFrame(
        {"contract_no": ["CB-1"], "holder_code": ["H1"], "contract_area_mu": [12.345]},
        geometry=[square(102.5, 37.1, 0.01)],
        crs=4326,
    )
    assert (
        upload(client, "parcels", write(parcels, tmp_path / "p.gpkg")).json()[
            "inserted"
        ]
        == 1
    )
    hazards = gpd.GeoDataFrame(
        {
            "code": ["HZ1"],
            "kind": ["flood"],
            "found_at": ["2026-05-01 08:00"],
            "deadline": ["2026-06-01"],
        },
        geometry=[Point(102.55, 37.15)],
        crs=4326,
    )
    assert (
        upload(client, "hazards", write(hazards, tmp_path / "z.geojson")).json()[
            "inserted"
        ]
        == 1
    )
    roads = gpd.GeoDataFrame(
        {"code": ["R1"], "name": ["乡道"]},
        geometry=[LineString([(102.5, 37.1), (102.6, 37.2)])],
        crs=4326,
    )
    assert (
        upload(client, "roads", write(roads, tmp_path / "r.geojson")).json()["inserted"]
        == 1
    )
    row = session.execute(
        text(
            "SELECT g.code, c.capacity, c.role, p.contract_area_mu, h.code, "
            "z.severity, z.status, z.found_at AT TIME ZONE 'UTC', zg.code, "
            "ST_GeometryType(r.geom) "
            "FROM cadres c JOIN grids g ON g.id = c.home_grid_id, pasture_parcels p "
            "JOIN households h ON h.id = p.holder_household_id, hazards z "
            "JOIN grids zg ON zg.id = z.grid_id, roads r"
        )
    ).one()
    assert row[:2] == ("G1", 14) and row[2] == "grid_leader"
    assert float(row[3]) == 12.35 and row[4] == "H1"
    assert row[5:7] == ("medium", "found")
    assert str(row[7]) == "2026-05-01 00:00:00"  # naive times are China time
    assert row[8:] == ("G1", "ST_MultiLineString")


def test_table_without_coordinates_updates_attributes_only(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    upload(client, "households", write(households_frame(2), tmp_path / "h.geojson"))
    before = _stored(session)
    pd.DataFrame({"code": ["H2"], "members": ["6"]}).to_csv(tmp_path / "m.csv")
    body = upload(client, "households", tmp_path / "m.csv").json()
    assert (body["updated"], body["unchanged"]) == (1, 0)
    after = _stored(session)
    assert after[0] == before[0]
    assert after[1] == (*before[1][:2], 6, *before[1][3:])


def test_grids_and_cadres_imported_after_households_assign_them(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    upload(client, "households", write(households_frame(2), tmp_path / "h.geojson"))
    grids = gpd.GeoDataFrame(
        {"code": ["G0"], "name": ["镇"], "level": ["core"], "parent_code": [None]},
        geometry=[square(102.4, 37.0, 0.3)],
        crs=4326,
    )
    assert (
        upload(client, "grids", write(grids, tmp_path / "g.geojson")).status_code == 200
    )
    state = "SELECT h.code, g.code, h.cadre_id IS NOT NULL FROM households_assigned h "
    state += "LEFT JOIN grids g ON g.id = h.grid_id ORDER BY h.code"
    assert [tuple(r) for r in session.execute(text(state))] == [
        ("H1", "G0", False),
        ("H2", "G0", False),
    ]
    cadres = pd.DataFrame(
        {"code": ["C1"], "name": ["干部"], "role": ["grid_worker"], "home_grid": ["G0"],
         "capacity": [14]}
    )  # fmt: skip
    cadres.to_csv(tmp_path / "c.csv", index=False)
    response = upload(client, "cadres", tmp_path / "c.csv")
    assert response.status_code == 200, response.text
    assert [tuple(r) for r in session.execute(text(state))] == [
        ("H1", "G0", True),
        ("H2", "G0", True),
    ]
