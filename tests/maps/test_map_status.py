"""Household status and grid coverage on the maps: grids.visits.coverage rules."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.errors import NotFound
from grids.visits.coverage import (
    coverage_by_grid,
    coverage_with_statuses,
    household_statuses,
    set_rules,
)
from grids.visits.schemas import RuleSet
from grids.visits.status_select import status_tally
from maps import service
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
    rows = household_statuses(session, township=TOWNSHIP, as_of=AS_OF)
    assert {r["code"]: r["status"] for r in rows} == STATUS
    assert {r["code"] for r in rows if r["priority"]} == PRIORITY
    last = {r["code"]: r["last_visit"] for r in rows}
    assert (AS_OF - last["H001"]).days == 10  # the latest of its two visits
    assert last["H008"] is None  # its only visit is after AS_OF
    # H003 is monitored (30 d): 40 d since its visit is 10 d overdue; H004's 低保
    # has no rule of its own, so everyone's 90 d applies
    overdue = {r["code"]: r["overdue_days"] for r in rows}
    assert overdue["H003"] == pytest.approx(10.0) and overdue["H004"] < 0
    data = service.coverage_data(session, township=TOWNSHIP, as_of=AS_OF)
    assert {h["code"]: h["status"] for h in data.households} == STATUS


def test_the_townships_rules_recolour_the_map(session: Session) -> None:
    build_map_township(session)
    set_rules(session, township=TOWNSHIP, rules=RuleSet(default_days=30))
    data = service.coverage_data(session, township=TOWNSHIP, as_of=AS_OF)
    got = {h["code"]: h["status"] for h in data.households}
    assert got == STATUS | {"H004": "overdue"}  # 40 d > everyone's 30 d now
    set_rules(
        session, township=TOWNSHIP, rules=RuleSet(default_days=120, tags={"低保": 7})
    )
    data = service.coverage_data(session, township=TOWNSHIP, as_of=AS_OF)
    got = {h["code"]: h["status"] for h in data.households}
    # H002 (100 d) and H003 (no monitored rule any more) are up to date; 低保 weekly
    assert got == STATUS | {"H002": "visited", "H003": "visited", "H004": "overdue"}


def test_subtree_keeps_unassigned_households_inside_it(session: Session) -> None:
    build_map_township(session)
    rows = household_statuses(
        session, township=TOWNSHIP, as_of=AS_OF, grid="B", unassigned_inside=True
    )
    assert sorted(r["code"] for r in rows) == ["H005", "H006"]
    # the coverage reports count assigned households only
    rows = household_statuses(session, township=TOWNSHIP, as_of=AS_OF, grid="B")
    assert [r["code"] for r in rows] == ["H005"]
    data = service.coverage_data(session, township=TOWNSHIP, grid="B", as_of=AS_OF)
    assert sorted(h["code"] for h in data.households) == ["H005", "H006"]


def test_grid_shading_uses_the_coverage_report(
    session: Session, client: TestClient
) -> None:
    build_map_township(session)
    data = service.coverage_data(session, township=TOWNSHIP, as_of=AS_OF)
    got = {
        f["properties"]["code"]: (
            f["properties"]["households"], f["properties"]["visited"],
            f["properties"]["up_to_date"], f["properties"]["is_leaf"],
            f["properties"]["depth"],
        )
        for f in data.grids["features"]
    }  # fmt: skip
    # visited in the 90 days before AS_OF: H001, H003, H004; up to date: H001, H004
    assert got == {
        "ROOT": (6, 3, 2, False, 0),
        "A": (5, 3, 2, True, 1),
        "B": (1, 0, 0, True, 1),
    }
    assert data.period == "2025-03-03 – 2025-06-01"
    api = client.get(
        f"/townships/{TOWNSHIP}/coverage/grids", params={"until": AS_OF.isoformat()}
    )
    assert api.status_code == 200
    assert {
        r["code"]: (r["households"], r["visited"], r["up_to_date"])
        for r in api.json()["rows"]
    } == {k: v[:3] for k, v in got.items()}
    # a shorter period: only H001 (10 d ago) was visited in the last 30 days
    since = AS_OF.replace(month=5, day=2)
    sub = service.coverage_data(
        session, township=TOWNSHIP, grid="A", as_of=AS_OF, since=since
    )
    report = coverage_by_grid(
        session, township=TOWNSHIP, grid="A", since=since, until=AS_OF
    )
    assert (
        [
            (f["properties"]["code"], f["properties"]["visited"])
            for f in sub.grids["features"]
        ]
        == [(r.code, r.visited) for r in report.rows]
        == [("A", 1)]
    )


def test_unknown_grid_is_not_found(session: Session) -> None:
    build_map_township(session)
    with pytest.raises(NotFound, match="NOPE"):
        service.coverage_data(session, township=TOWNSHIP, grid="NOPE", as_of=AS_OF)


def test_coverage_data_masks_and_scopes(session: Session) -> None:
    build_map_township(session)
    data = service.coverage_data(session, township=TOWNSHIP, as_of=AS_OF)
    assert len(data.households) == 8
    h1 = next(h for h in data.households if h["code"] == "H001")
    assert h1["phone"] == "138****5678" != PHONE
    assert ID_NUMBER not in str(data.households)
    assert h1["last"] == "2025-05-22"
    assert h1["cadre"] == "干部C1"
    assert [z["code"] for z in data.hazards] == ["HZ1"]  # closed ones hidden
    every = service.coverage_data(
        session, township=TOWNSHIP, as_of=AS_OF, closed_hazards=True
    )
    assert [z["code"] for z in every.hazards] == ["HZ1", "HZ2"]
    disputes = data.disputes["features"]
    assert [
        (f["properties"]["parcel_a"], f["properties"]["parcel_b"]) for f in disputes
    ] == [("P1", "P2")]  # the resolved P1/P3 dispute is not drawn
    sub = service.coverage_data(
        session, township=TOWNSHIP, grid="B", as_of=AS_OF, closed_hazards=True
    )
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


def test_a_household_with_a_grid_but_no_cadre_is_unassigned(session: Session) -> None:
    """It has nobody responsible: the map must not hide it among 'never visited'."""
    town = build_map_township(session)
    session.execute(
        text(
            "UPDATE household_assignments SET cadre_id = NULL, "
            "reason = 'grid_has_no_cadre' WHERE household_id = :h"
        ),
        {"h": town.households["H005"]},
    )
    session.commit()
    rows = household_statuses(session, township=TOWNSHIP, as_of=AS_OF)
    assert {r["code"]: r["status"] for r in rows}["H005"] == "unassigned"


@pytest.mark.parametrize("grid", [None, "ROOT", "A", "B"])
def test_one_pass_gives_the_report_and_the_status_counts(
    session: Session, grid: str | None
) -> None:
    """The map's one pass: coverage_by_grid's report and status_tally's counts
    (H006 is unassigned inside B and ROOT: counted by status, not in coverage)."""
    build_map_township(session)
    report, tally = coverage_with_statuses(
        session, township=TOWNSHIP, until=AS_OF, grid=grid
    )
    assert report == coverage_by_grid(
        session, township=TOWNSHIP, until=AS_OF, grid=grid
    )
    assert tally == status_tally(session, township=TOWNSHIP, as_of=AS_OF, grid=grid)
    if grid == "B":
        assert report.township.households == 1
        assert tally["statuses"] == {"never_visited": 1, "unassigned": 1}
