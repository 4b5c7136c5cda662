"""Ledgers (台账) export as GeoJSON, GeoPackage and XLSX; GDAL opens each with
typed fields; XLSX has Chinese headers and China time."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from gis_service.core.db import gdal_connection
from tests.factories import TOWNSHIP
from tests.grids.factories_visits import make_town

BASE = f"/townships/{TOWNSHIP}"


@pytest.fixture
def town(session: Session, client: TestClient) -> None:
    make_town(session)
    body = (
        "户号,网格员编号,走访时间,走访事由,诉求类别,诉求内容,办结期限\n"
        "H001,C1,2026-06-01 09:00,政策宣传,就业,想找活干,2026-07-01\n"
    )
    response = client.post(
        f"{BASE}/visits/batch",
        content=body.encode(),
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 201, response.text


def _ogrinfo(path: Path, layer: str) -> str:
    return subprocess.run(
        ["ogrinfo", "-so", str(path), layer], capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip


@pytest.mark.usefixtures("town")
@pytest.mark.parametrize(
    ("ledger", "typed"),
    [
        ("visits", ["visited_at: DateTime", "id: Integer64", "purpose: String"]),
        ("demands", ["due_date: Date ", "created_at: DateTime"]),
        ("coverage", ["last_visit: DateTime", "members: Integer64"]),
        ("uncovered", ["interval_days: Integer64"]),
    ],
)
def test_ledgers_open_in_gdal_with_typed_fields(
    client: TestClient, tmp_path: Path, ledger: str, typed: list[str]
) -> None:
    response = client.get(f"{BASE}/layers/{ledger}/export", params={"format": "gpkg"})
    assert response.status_code == 200, response.text
    path = tmp_path / f"{ledger}.gpkg"
    path.write_bytes(response.content)
    info = _ogrinfo(path, ledger)
    for field in typed:
        assert field in info, info
    assert "EPSG" in info or "WGS 84" in info


@pytest.mark.usefixtures("town")
def test_cgcs2000_and_geojson_and_the_xlsx_ledger(
    client: TestClient, tmp_path: Path
) -> None:
    response = client.get(
        f"{BASE}/layers/visits/export", params={"format": "gpkg", "crs": "EPSG:4490"}
    )
    assert response.status_code == 200, response.text
    (tmp_path / "v.gpkg").write_bytes(response.content)
    assert "CGCS2000" in _ogrinfo(tmp_path / "v.gpkg", "visits")
    geojson = client.get(f"{BASE}/layers/demands/export", params={"format": "geojson"})
    assert geojson.status_code == 200
    (feature,) = geojson.json()["features"]
    assert feature["properties"]["category"] == "employment"
    xlsx = client.get(f"{BASE}/layers/visits/export", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content))["走访台账"]
    rows = list(sheet.values)
    assert rows[0][:7] == (
        "走访编号",
        "户号",
        "户主",
        "网格员编号",
        "网格员",
        "走访时间",
        "走访事由",
    )
    assert str(rows[1][5]) == "2026-06-01 09:00:00"  # China time, as written
    assert rows[1][6] == "政策宣传"
    bad = client.get(
        f"{BASE}/layers/visits/export", params={"format": "gpkg", "crs": "nope"}
    )
    assert bad.status_code == 422


def test_db_url_gdal_opens_in_ogrinfo(session: Session) -> None:
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    connection = gdal_connection(url)
    assert connection.startswith("PG:dbname=")
    done = subprocess.run(
        ["ogrinfo", "-ro", "-so", connection], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_an_empty_disputes_ledger_still_opens(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    make_town(session)
    for fmt in ("gpkg", "xlsx", "geojson"):
        response = client.get(f"{BASE}/layers/disputes/export", params={"format": fmt})
        assert response.status_code == 200, response.text
    (tmp_path / "d.gpkg").write_bytes(
        client.get(f"{BASE}/layers/disputes/export", params={"format": "gpkg"}).content
    )
    assert "overlap_m2: Real" in _ogrinfo(tmp_path / "d.gpkg", "disputes")


@pytest.mark.usefixtures("town")
def test_the_xlsx_ledger_shows_times_in_the_timezone_setting(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDGIS_TIMEZONE", "Asia/Urumqi")  # UTC+6
    xlsx = client.get(f"{BASE}/layers/visits/export", params={"format": "xlsx"})
    rows = list(load_workbook(io.BytesIO(xlsx.content))["走访台账"].values)
    assert str(rows[1][5]) == "2026-06-01 07:00:00"  # 09:00 Beijing, 01:00 UTC
