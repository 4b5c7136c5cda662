"""Grid tree checks: overlaps, children outside, uncovered parent area, near-gaps."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import TOWNSHIP, make_grid, make_township
from tests.grids.factories_assign import rect

# At 37.1°N: 0.001° of longitude is ~88.8 m, 0.001° of latitude ~1.11 km / 10.
LON_M, LAT_M = 88.85, 110.99


@pytest.fixture
def faulty(session: Session) -> None:
    make_township(session)
    make_grid(session, "P", rect(102.50, 37.10, 102.54, 37.11), level="domain")
    make_grid(session, "A", rect(102.50, 37.10, 102.51, 37.11), parent="P")
    make_grid(
        session, "B", rect(102.509, 37.10, 102.52, 37.11), parent="P"
    )  # overlaps A
    # 0.00002° (~1.8 m) gap after B; C sticks 0.001° out of P to the north.
    make_grid(session, "C", rect(102.52002, 37.10, 102.53, 37.111), parent="P")


def test_hierarchy_faults(client: TestClient, faulty: None) -> None:
    response = client.get(
        f"/townships/{TOWNSHIP}/grids/checks", params={"min_width_m": 5}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["grids_checked"] == 4
    assert body["counts"] == {
        "sibling_overlap": 1,
        "sliver_overlap": 0,
        "outside_parent": 1,
        "uncovered": 1,
        "near_gap": 1,
        "invalid_edge": 3,
    }
    by_kind = {f["properties"]["kind"]: f["properties"] for f in body["features"]}
    assert by_kind["sibling_overlap"]["grids"] == ["A", "B"]
    assert by_kind["sibling_overlap"]["area_m2"] == pytest.approx(
        1 * LON_M * 10 * LAT_M, rel=0.01
    )
    assert by_kind["outside_parent"]["grids"] == ["C", "P"]
    assert by_kind["outside_parent"]["area_m2"] == pytest.approx(
        9.98 * LON_M * LAT_M, rel=0.01
    )
    assert by_kind["uncovered"]["area_m2"] == pytest.approx(
        10 * LON_M * 10 * LAT_M, rel=0.01
    )
    assert by_kind["near_gap"]["area_m2"] == pytest.approx(
        0.02 * LON_M * 10 * LAT_M, rel=0.02
    )
    assert by_kind["near_gap"]["grids"] == ["P"]
    assert all(
        f["geometry"]["type"] in {"Polygon", "LineString", "MultiLineString"}
        for f in body["features"]
    )


def test_narrow_width_turns_near_gap_into_gap(client: TestClient, faulty: None) -> None:
    body = client.get(
        f"/townships/{TOWNSHIP}/grids/checks", params={"min_width_m": 1}
    ).json()
    assert body["counts"]["near_gap"] == 0
    assert body["counts"]["uncovered"] == 2
    assert body["counts"]["invalid_edge"] == 2  # only the overlapping pair


def test_bad_width_is_problem_json(client: TestClient, session: Session) -> None:
    make_township(session)
    response = client.get(
        f"/townships/{TOWNSHIP}/grids/checks", params={"min_width_m": -1}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
