"""Every GeoPackage export opens in GDAL with typed fields (issue 18).

A date-only value (a demand's 办结期限, a hazard's 整改期限) is a GPKG Date, an
instant (走访时间, 发现时间) a DateTime, counts Integer64 and measures Real, as
``ogrinfo`` reports them; a field QGIS can only sort as text is a bug.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis_service.core.settings import DisputeSettings
from layers.disputes.detect import detect_disputes
from tests.factories import TOWNSHIP
from tests.layers.factories_disputes import make_pasture
from tests.layers.factories_hazards import insert_hazard

BASE = f"/townships/{TOWNSHIP}/layers"


@pytest.fixture
def township(session: Session, client: TestClient) -> None:
    """Households, a visit with a demand, a dispute and two hazards."""
    make_pasture(session)
    body = (
        "户号,网格员编号,走访时间,走访事由,诉求类别,诉求内容,办结期限\n"
        "H001,C1,2026-06-01 09:00,政策宣传,就业,想找活干,2026-07-01\n"
    )
    response = client.post(
        f"/townships/{TOWNSHIP}/visits/batch",
        content=body.encode(),
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 201, response.text
    assert detect_disputes(
        session, township=TOWNSHIP, thresholds=DisputeSettings()
    ).detected
    insert_hazard(session, "Z1", "POINT (102.505 37.105)", deadline="2026-06-30")
    insert_hazard(
        session,
        "Z2",
        "POLYGON ((102.5 37.1, 102.51 37.1, 102.51 37.11, 102.5 37.1))",
        closed_days_ago=1,
    )


def field_types(path: Path, layer: str) -> dict[str, str]:
    """Field name -> OGR type, as ``ogrinfo -so`` lists them."""
    info = subprocess.run(
        ["ogrinfo", "-so", "-ro", str(path), layer],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(re.findall(r"^(\w+): (\w+) \(", info, flags=re.MULTILINE))


TYPES = {
    "visits": {"id": "Integer64", "visited_at": "DateTime", "purpose": "String"},
    "demands": {"id": "Integer64", "due_date": "Date", "created_at": "DateTime",
                "resolved_at": "DateTime", "status": "String"},
    "disputes": {"id": "Integer64", "overlap_m2": "Real", "overlap_mu": "Real",
                 "first_detected_at": "DateTime", "last_detected_at": "DateTime"},
    "coverage": {"members": "Integer64", "last_visit": "DateTime",
                 "interval_days": "Integer64", "overdue_days": "Integer64"},
    "uncovered": {"members": "Integer64", "last_visit": "DateTime"},
    "households": {"members": "Integer", "head_name": "String"},
    "hazards": {"found_at": "DateTime", "deadline": "Date", "closed_at": "DateTime",
                "warn_radius_m": "Real", "kind": "String"},
}  # fmt: skip


@pytest.mark.usefixtures("township")
@pytest.mark.parametrize("layer", list(TYPES))
def test_every_gpkg_export_has_typed_fields(
    client: TestClient, tmp_path: Path, layer: str
) -> None:
    response = client.get(f"{BASE}/{layer}/export", params={"format": "gpkg"})
    assert response.status_code == 200, response.text
    path = tmp_path / f"{layer}.gpkg"
    path.write_bytes(response.content)
    types = field_types(path, layer)
    for name, expected in TYPES[layer].items():
        assert types.get(name, "").startswith(expected), (name, types)
    # a date-only column is never a DateTime, an instant never a Date
    dates = {n for n, t in types.items() if t == "Date"}
    assert dates == {"due_date", "deadline"} & set(types)


@pytest.mark.usefixtures("township")
def test_dates_keep_their_day_and_geojson_writes_them_plainly(
    client: TestClient, tmp_path: Path
) -> None:
    path = tmp_path / "demands.gpkg"
    path.write_bytes(
        client.get(f"{BASE}/demands/export", params={"format": "gpkg"}).content
    )
    info = subprocess.run(
        ["ogrinfo", "-ro", "-q", str(path), "demands"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "due_date (Date) = 2026/07/01" in info
    geojson = client.get(f"{BASE}/demands/export", params={"format": "geojson"})
    (feature,) = geojson.json()["features"]
    assert feature["properties"]["due_date"] == "2026-07-01"
    hazards = client.get(f"{BASE}/hazards/export", params={"format": "gpkg"})
    (tmp_path / "h.gpkg").write_bytes(hazards.content)
    info = subprocess.run(
        ["ogrinfo", "-ro", "-q", str(tmp_path / "h.gpkg"), "hazards"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "deadline (Date) = 2026/06/30" in info
