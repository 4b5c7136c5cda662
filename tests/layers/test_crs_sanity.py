"""Gauss-Krüger numbers that would land far from the township are refused with
the likely cause: no CRS (the zone named), wrong zone, zone prefix, X/Y swapped."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from pyproj import Transformer

from tests.factories import make_grid, make_township, square
from tests.layers.factories_layers import count, upload

LON, LAT = [102.5, 102.55], [37.1, 37.15]


@pytest.fixture(autouse=True)
def township(session: Session) -> str:
    code = make_township(session)
    make_grid(session, "G1", square(102.4, 37.0, 0.3))
    return code


def _projected(tmp: Path, epsg: int, *, swap: bool = False) -> Path:
    x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(LON, LAT)
    if swap:  # the survey way round: X is the northing
        x, y = y, x
    frame = pd.DataFrame({"code": ["H1", "H2"], "head_name": ["甲", "乙"],
                          "x": x, "y": y})  # fmt: skip
    path = tmp / f"h{epsg}{'s' if swap else ''}.csv"
    frame.to_csv(path, index=False)
    return path


def test_no_crs_metres_name_the_zone_of_the_township(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    path = _projected(tmp_path, 4543)
    response = upload(client, "households", path)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "pass --crs EPSG:4543" in detail
    assert "CM 102E" in detail
    assert upload(client, "households", path, crs="EPSG:4543").status_code == 200
    assert count(session, "households") == 2


def test_no_crs_with_zone_prefix_names_the_prefixed_zone(
    client: TestClient, tmp_path: Path
) -> None:
    response = upload(client, "households", _projected(tmp_path, 4522))
    assert response.status_code == 422
    assert "pass --crs EPSG:4522" in response.json()["detail"]


@pytest.mark.parametrize(
    ("epsg", "declared", "swap", "cause"),
    [
        (4543, "EPSG:4547", False, "the wrong zone: the numbers fit EPSG:4543"),
        (4522, "EPSG:4543", False, "the zone prefix: the eastings have the zone"),
        (4543, "EPSG:4522", False, "the zone prefix: the eastings lack the zone"),
        (4543, "EPSG:4543", True, "X and Y look swapped"),
    ],
    ids=["wrong-zone", "prefix-present", "prefix-missing", "xy-swapped"],
)
def test_data_far_from_the_township_is_refused_with_the_cause(
    client: TestClient,
    session: Session,
    tmp_path: Path,
    epsg: int,
    declared: str,
    swap: bool,
    cause: str,
) -> None:
    path = _projected(tmp_path, epsg, swap=swap)
    response = upload(client, "households", path, crs=declared)
    assert response.status_code == 422, response.text
    body = response.json()
    assert "from the township's grids (over 50 km)" in body["detail"]
    assert cause in body["detail"]
    assert count(session, "households") == 0


def test_force_imports_far_data_and_the_distance_is_a_setting(
    client: TestClient,
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    far = pd.DataFrame({"code": ["H1"], "head_name": ["甲"], "lon": [103.5],
                        "lat": [37.1]})  # fmt: skip
    far.to_csv(tmp_path / "far.csv", index=False)
    response = upload(client, "households", tmp_path / "far.csv")
    assert response.status_code == 422
    assert "pass --force" in response.json()["detail"]
    monkeypatch.setenv("GRIDGIS_IMPORTS__MAX_DISTANCE_KM", "150")
    assert upload(client, "households", tmp_path / "far.csv").status_code == 200
    monkeypatch.delenv("GRIDGIS_IMPORTS__MAX_DISTANCE_KM")
    far["lon"] = [104.5]
    far.to_csv(tmp_path / "far.csv", index=False)
    response = upload(client, "households", tmp_path / "far.csv", force=True)
    assert response.status_code == 200, response.text
