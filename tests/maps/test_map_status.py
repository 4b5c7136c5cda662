"""The interim household status rule and grid coverage, on hand-built data."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from gis_service.errors import NotFound
from maps import queries, service
from tests.factories import TOWNSHIP
from tests.maps.factories_maps import (
    AS_OF,
    ID_NUMBER,
    PHONE,
    PRIORITY,
    STATUS,
    build_map_township,
)


def test_household_status_rule(session: Session) -> None:
    build_map_township(session)
    rows = queries.household_rows(
        session, township=TOWNSHIP, grid_path=None, as_of=AS_OF
    )
    assert {r["code"]: r["status"] for r in rows} == STATUS
    assert {r["code"] for r in rows if r["priority"]} == PRIORITY
    last = {r["code"]: r["last_visit"] for r in rows}
    assert (AS_OF - last["H001"]).days == 10  # the latest of its two visits
    assert last["H008"] is None  # its only visit is after AS_OF


def test_subtree_keeps_unassigned_households_inside_it(session: Session) -> None:
    township = build_map_township(session)
    path = queries.grid_path(session, township=TOWNSHIP, grid_code="B")
    assert path == f"/{township.grids['ROOT']}/{township.grids['B']}/"
    rows = queries.household_rows(
        session, township=TOWNSHIP, grid_path=path, as_of=AS_OF
    )
    assert sorted(r["code"] for r in rows) == ["H005", "H006"]


def test_grid_coverage_counts_the_subtree(session: Session) -> None:
    build_map_township(session)
    rows = queries.grid_rows(session, township=TOWNSHIP, grid_path=None, as_of=AS_OF)
    got = {
        r["code"]: (r["households"], r["visited"], r["overdue"], r["never_visited"],
                    r["is_leaf"], r["depth"])
        for r in rows
    }  # fmt: skip
    assert got == {
        "ROOT": (6, 2, 2, 2, False, 0),
        "A": (5, 2, 2, 1, True, 1),
        "B": (1, 0, 0, 1, True, 1),
    }


def test_unknown_grid_is_not_found(session: Session) -> None:
    build_map_township(session)
    with pytest.raises(NotFound, match="NOPE"):
        queries.grid_path(session, township=TOWNSHIP, grid_code="NOPE")


def test_coverage_data_masks_and_scopes(session: Session) -> None:
    build_map_township(session)
    data = service.coverage_data(session, township=TOWNSHIP, as_of=AS_OF)
    assert len(data.households) == 8
    h1 = next(h for h in data.households if h["code"] == "H001")
    assert h1["phone"] == "138****5678" != PHONE
    assert ID_NUMBER not in str(data.households)
    assert h1["last"] == "2025-05-22"
    assert h1["cadre"] == "干部C1"
    assert [z["code"] for z in data.hazards] == ["HZ1", "HZ2"]
    disputes = data.disputes["features"]
    assert [
        (f["properties"]["parcel_a"], f["properties"]["parcel_b"]) for f in disputes
    ] == [("P1", "P2")]  # the resolved P1/P3 dispute is not drawn
    sub = service.coverage_data(session, township=TOWNSHIP, grid="B", as_of=AS_OF)
    assert [z["code"] for z in sub.hazards] == ["HZ2"]
    assert sub.disputes["features"] == []
    assert sorted(f["properties"]["code"] for f in sub.grids["features"]) == ["B"]


def test_dispute_data_areas_and_masked_holders(session: Session) -> None:
    township = build_map_township(session)
    data = service.dispute_data(session, township=TOWNSHIP, dispute_id=township.dispute)
    sides = {f["properties"]["side"]: f["properties"] for f in data.parcels["features"]}
    assert (sides["a"]["contract_no"], sides["b"]["contract_no"]) == ("P1", "P2")
    assert sides["a"]["holder_code"] == "H001"
    assert sides["a"]["holder_phone"] == "138****5678"
    assert sides["a"]["holder_id_number"] == "620623********1234"
    # 0.004° squares at 37°N: ~ 355 m x 445 m; overlap is a quarter in width
    assert sides["a"]["area_m2"] == pytest.approx(158_000, rel=0.01)
    assert sides["a"]["area_mu"] == pytest.approx(sides["a"]["area_m2"] * 15 / 10_000)
    assert data.dispute["overlap_area_m2"] == pytest.approx(
        sides["a"]["area_m2"] / 4, rel=1e-3
    )
    assert data.overlap is not None and data.overlap["type"] == "MultiPolygon"


def test_route_data_orders_the_cadres_households(session: Session) -> None:
    build_map_township(session)
    route = service.route_data(session, township=TOWNSHIP, cadre="C1", as_of=AS_OF)
    # from the base at (102.0, 37.0): H001 first, then along the row, H008 last
    labels = [s["label"].split()[0] for s in route.stops]
    assert labels == ["H001", "H002", "H003", "H004", "H008"]
    assert [s["seq"] for s in route.stops] == [1, 2, 3, 4, 5]
    # 285 m + 3 x 178 m + 854 m, walked at 4 km/h
    assert route.length_m == pytest.approx(1671, rel=0.01)
    assert route.duration_s == pytest.approx(route.length_m / (4000 / 3600))
    assert route.start == {"lon": 102.0, "lat": 37.0, "label": "驻地"}
    assert len(route.path) == 6
    with pytest.raises(NotFound, match="C9"):
        service.route_data(session, township=TOWNSHIP, cadre="C9", as_of=AS_OF)
