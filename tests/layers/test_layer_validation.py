"""Every bad input is refused with a 422 naming the feature, field and reason,
and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import geopandas as gpd
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from tests.factories import make_grid, make_township, square
from tests.layers.factories_layers import (
    PROBLEM,
    count,
    households_frame,
    upload,
    write,
)

# The one text rule (gis_service.core.inputs), for the API and for files alike.
UNSTORABLE = (
    "contains a NUL character (\\0) or an unpaired surrogate, "
    "which the database cannot store"
)

BOWTIE = Polygon([(102.5, 37.1), (102.51, 37.11), (102.51, 37.1), (102.5, 37.11)])


@pytest.fixture(autouse=True)
def township(session: Session) -> str:
    code = make_township(session)
    make_grid(session, "G1", square(102.4, 37.0, 0.3))
    return code


def _households(tmp: Path, **columns: object) -> Path:
    return write(households_frame(3, **columns), tmp / "h.gpkg")


def _table(tmp: Path, **columns: object) -> Path:
    frame = pd.DataFrame(
        {
            "code": ["T1", "T2"],
            "head_name": ["甲", "乙"],
            "lon": ["102.5", "102.6"],
            "lat": ["37.1", "37.2"],
        }
    )
    for name, values in columns.items():
        frame[name] = values
    frame.to_csv(tmp / "t.csv", index=False)
    return tmp / "t.csv"


def _parcels(tmp: Path, geom: Polygon, holder: str | None = None) -> Path:
    frame = gpd.GeoDataFrame(
        {"contract_no": ["CB-1", "CB-2"], "holder_code": [None, holder]},
        geometry=[square(102.5, 37.1, 0.01), geom],
        crs=4326,
    )
    return write(frame, tmp / "p.geojson")


def _hazards(tmp: Path, kind: str) -> Path:
    frame = gpd.GeoDataFrame(
        {"code": ["Z1", "Z2"], "kind": ["fire", kind]},
        geometry=[Point(102.5, 37.1), Point(102.6, 37.1)],
        crs=4326,
    )
    return write(frame, tmp / "z.geojson")


def _cadres(tmp: Path) -> Path:
    pd.DataFrame(
        {
            "code": ["C1", "C2"],
            "name": ["甲", "乙"],
            "home_grid_code": ["G1", "G9"],
            "capacity": ["14", "0"],
        }
    ).to_csv(tmp / "c.csv", index=False)
    return tmp / "c.csv"


def _grids_cycle(tmp: Path) -> Path:
    frame = gpd.GeoDataFrame(
        {
            "code": ["A", "B"],
            "name": ["a", "b"],
            "level": ["grid", "grid"],
            "parent_code": ["B", "A"],
        },
        geometry=[square(102.5, 37.1, 0.01), square(102.6, 37.1, 0.01)],
        crs=4326,
    )
    return write(frame, tmp / "g.geojson")


Case = tuple[str, Callable[[Path], Path], dict[str, str], int | None, str, str]
CASES: list[Case] = [
    (
        "households",
        lambda t: _households(
            t, geometry=[Point(102.5, 37.1), None, Point(102.6, 37.2)]
        ),
        {},
        1,
        "geometry",
        "missing geometry",
    ),
    (
        "households",
        lambda t: _households(
            t, geometry=[Point(102.5, 37.1), Point(), Point(102.6, 37.2)]
        ),
        {},
        1,
        "geometry",
        "empty geometry",
    ),
    (
        "households",
        lambda t: _households(
            t,
            geometry=[
                Point(102.5, 37.1),
                LineString([(102.5, 37.1), (102.6, 37.2)]),
                Point(102.6, 37.2),
            ],
        ),
        {},
        1,
        "geometry",
        "expected Point or MultiPoint, got LineString",
    ),
    (
        "households",
        lambda t: _table(t, lon=["102.5", "inf"]),
        {},
        1,
        "geometry",
        "coordinates are NaN or infinite",
    ),
    (
        "households",
        lambda t: _table(t, lon=["102.5", "abc"]),
        {},
        1,
        "geometry",
        "lon/lat is not a number",
    ),
    (
        "households",
        lambda t: _households(
            t, geometry=[Point(102.5, 37.1), Point(2.35, 48.85), Point(102.6, 37.2)]
        ),
        {},
        1,
        "geometry",
        "outside China's extent",
    ),
    (
        "households",
        lambda t: _households(
            t, geometry=[Point(102.5, 37.1), Point(37.1, 102.5), Point(102.6, 37.2)]
        ),
        {},
        1,
        "geometry",
        "longitude/latitude look swapped",
    ),
    (
        "households",
        lambda t: _households(t, code=["H1", "H2", "H1"]),
        {},
        2,
        "code",
        "duplicate code (first at feature 0)",
    ),
    (
        "households",
        lambda t: _households(t, members=["1", "many", "2"]),
        {},
        1,
        "members",
        "expected a number, got 'many'",
    ),
    (
        "households",
        lambda t: _households(t, members=[1, 2.5, 2]),
        {},
        1,
        "members",
        "expected a whole number, got 2.5",
    ),
    (
        "households",
        lambda t: _households(t, tags=["低保", "富裕", ""]),
        {},
        1,
        "tags",
        "unknown tag(s) 富裕",
    ),
    (
        "households",
        lambda t: _households(t, head_name=["a", None, "c"]),
        {},
        1,
        "head_name",
        "head_name is required",
    ),
    (
        "households",
        lambda t: _households(t, phone=["1", "2", "9" * 25]),
        {},
        2,
        "phone",
        "longer than 20 characters",
    ),
    (
        "pasture_parcels",
        lambda t: _parcels(t, BOWTIE),
        {},
        1,
        "geometry",
        "invalid geometry: Self-intersection",
    ),
    (
        "pasture_parcels",
        lambda t: _parcels(t, square(102.6, 37.1, 0.01), "NOPE"),
        {},
        1,
        "holder_code",
        "unknown household NOPE",
    ),
    (
        "hazards",
        lambda t: _hazards(t, "meteor"),
        {},
        1,
        "kind",
        "'meteor' is not one of fire, flood",
    ),
    ("cadres", _cadres, {}, 1, "home_grid_code", "unknown grid G9"),
    ("cadres", _cadres, {}, 1, "capacity", "must be > 0, got 0"),
    ("grids", _grids_cycle, {}, None, "parent_code", "parent chain forms a cycle"),
    (
        "households",
        lambda t: _table(t, lon=["35512345", "35512400"], lat=["4105678", "4105700"]),
        {},
        None,
        "crs",
        "missing",
    ),
    (
        "households",
        lambda t: _households(t),
        {"crs": "EPSG:4513"},
        None,
        "crs",
        "contradicts the file's CRS",
    ),
]


@pytest.mark.parametrize(
    ("layer", "make", "options", "feature", "field", "reason"),
    CASES,
    ids=[f"{c[0]}-{c[4]}-{c[5][:30]}" for c in CASES],
)
def test_bad_input_is_named_and_nothing_written(
    client: TestClient,
    session: Session,
    tmp_path: Path,
    layer: str,
    make: Callable[[Path], Path],
    options: dict[str, str],
    feature: int | None,
    field: str,
    reason: str,
) -> None:
    table = "pasture_parcels" if layer == "pasture_parcels" else layer
    before = count(session, table)
    response = upload(client, layer, make(tmp_path), **options)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    matching = [
        e
        for e in body["errors"]
        if e["field"] == field
        and reason in e["reason"]
        and (feature is None or e.get("feature") == feature)
    ]
    assert matching, body["errors"]
    assert count(session, table) == before


def test_projected_numbers_without_crs_say_what_to_pass(
    client: TestClient, tmp_path: Path
) -> None:
    path = _table(tmp_path, lon=["35512345", "35512400"], lat=["4105678", "4105700"])
    body = upload(client, "households", path).json()
    assert "pass --crs EPSG:4523" in body["detail"]
    assert "3° Gauss-Krüger zone 35" in body["detail"]


def test_errors_name_code_and_count_rejected_features(
    client: TestClient, tmp_path: Path
) -> None:
    path = _households(
        tmp_path,
        members=["x", "1", "y"],
        geometry=[Point(102.5, 37.1), Point(10, 10), Point(102.6, 37.2)],
    )
    body = upload(client, "households", path).json()
    assert body["rejected"] == 3 and body["features"] == 3 and body["written"] is False
    assert [(e["feature"], e["code"], e["field"]) for e in body["errors"]] == [
        (0, "H1", "members"),
        (1, "H2", "geometry"),
        (2, "H3", "members"),
    ]


def test_repair_makes_polygons_valid_and_reports_it(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    body = upload(client, "parcels", _parcels(tmp_path, BOWTIE), repair=True).json()
    assert body["inserted"] == 2
    (fix,) = body["repairs"]
    assert (fix["feature"], fix["code"]) == (1, "CB-2")
    assert fix["was"].startswith("Self-intersection")
    assert fix["now"].startswith("valid MultiPolygon with 2 part(s)")
    assert count(session, "pasture_parcels") == 2


def test_z_values_are_dropped_with_a_warning(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    frame = households_frame(
        2, geometry=[Point(102.5, 37.1, 2900.0), Point(102.6, 37.2, 3100.0)]
    )
    body = upload(client, "households", write(frame, tmp_path / "z.gpkg")).json()
    assert body["inserted"] == 2
    assert "2 features had Z/M values; they were dropped" in body["warnings"]


def test_unreadable_file_is_415(client: TestClient, tmp_path: Path) -> None:
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04 not a layer")
    response = upload(client, "households", tmp_path / "notes.docx")
    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM


def test_unknown_layer_is_404(client: TestClient, tmp_path: Path) -> None:
    response = upload(client, "wells", _households(tmp_path))
    assert response.status_code == 404
    assert "households, grids" in response.json()["detail"]


def test_multipolygon_parcel_is_accepted(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    multi = MultiPolygon([square(102.6, 37.1, 0.01), square(102.7, 37.1, 0.01)])
    assert upload(client, "parcels", _parcels(tmp_path, multi)).status_code == 200


def test_nul_characters_are_refused_not_cut_or_a_500(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    reason = UNSTORABLE
    table = _table(tmp_path, head_name=["a\x00b", "乙"])
    response = upload(client, "households", table)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"feature": 0, "row": 2, "code": "T1", "field": "head_name", "reason": reason}
    ]
    # GDAL would cut "a\u0000b" to "a" without a word; the importer says so.
    geojson = tmp_path / "h.geojson"
    geojson.write_text(
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "properties": {"code": "H1", "head_name": "ok"},'
        ' "geometry": {"type": "Point", "coordinates": [102.5, 37.1]}},'
        '{"type": "Feature", "properties": {"code": "H2", "village": "a\\u0000b",'
        ' "head_name": "ok"},'
        ' "geometry": {"type": "Point", "coordinates": [102.6, 37.1]}}]}'
    )
    response = upload(client, "households", geojson)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"] == [
        {"feature": 1, "code": "H2", "field": "village", "reason": reason}
    ]
    assert count(session, "households") == 0
