"""Household -> grid (border rule) and household -> cadre (capacity, pins, churn)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.errors import NotFound
from grids.assignment.planning import locate_households
from grids.assignment.service import assign_households
from tests.factories import (
    TOWNSHIP,
    make_cadre,
    make_grid,
    make_households,
    make_township,
)
from tests.grids.factories_assign import assignments, pin, rect

# P = [102.50, 102.52] x [37.10, 37.11]; G10 (west) and G2 (east) share x=102.51.
WEST = rect(102.50, 37.10, 102.51, 37.11)
EAST = rect(102.51, 37.10, 102.52, 37.11)


@pytest.fixture
def tree(session: Session) -> None:
    make_township(session)
    make_grid(session, "P", rect(102.50, 37.10, 102.52, 37.11), level="domain")
    make_grid(session, "G2", EAST, parent="P")
    make_grid(session, "G10", WEST, parent="P")


@pytest.mark.parametrize(
    ("point", "grid"),
    [
        ((102.505, 37.105), "G10"),  # inside the west child
        ((102.515, 37.105), "G2"),  # inside the east child
        ((102.51, 37.105), "G10"),  # on the shared edge: lowest code, "G10" < "G2"
        ((102.51, 37.11), "G10"),  # shared vertex on the parent's outline
        ((102.52, 37.10), "G2"),  # a corner of G2 and P only: deepest wins
        ((102.60, 37.20), None),  # outside every grid
    ],
)
def test_grid_rule_border_vertex_outside(
    session: Session, tree: None, point: tuple[float, float], grid: str | None
) -> None:
    make_households(session, [point])
    summary = assign_households(session, township=TOWNSHIP)
    assert assignments(session) == {"H001": (grid, None)}
    # The documented rule, written in SQL, gives the same grid.
    sql_grid = session.execute(
        text(
            "SELECT g.code FROM households h JOIN grids g ON ST_Covers(g.geom, h.geom) "
            "AND g.township_code = h.township_code "
            'ORDER BY g.depth DESC, g.code COLLATE "C" LIMIT 1'
        )
    ).scalar()
    assert sql_grid == grid
    assert summary.in_grid == (0 if grid is None else 1)
    assert summary.outside_every_grid == (1 if grid is None else 0)


def test_outside_household_kept_with_distance(session: Session, tree: None) -> None:
    # 0.001 deg east of the township at lat 37.105: about 88.8 m.
    make_households(session, [(102.521, 37.105), (102.505, 37.105)])
    summary = assign_households(session, township=TOWNSHIP)
    assert summary.households == 2
    assert summary.unassigned == {"outside_every_grid": 1, "grid_has_no_cadre": 1}
    [outside] = summary.outside
    assert outside.code == "H001"
    assert outside.nearest_grid == "G2"
    assert outside.distance_m == pytest.approx(88.8, abs=0.5)


def test_capacity_never_exceeded(session: Session, tree: None) -> None:
    make_cadre(session, "C1", grid="G10", capacity=2, base=(102.501, 37.101))
    make_households(session, [(102.502, 37.102), (102.503, 37.103), (102.509, 37.109)])
    summary = assign_households(session, township=TOWNSHIP)
    got = assignments(session)
    assert got == {"H001": ("G10", "C1"), "H002": ("G10", "C1"), "H003": ("G10", None)}
    assert summary.unassigned == {"capacity_exhausted": 1}
    assert summary.optimiser.max_load == 2


def test_pinned_household_stays(session: Session, tree: None) -> None:
    near = make_cadre(session, "NEAR", grid="G10", base=(102.502, 37.102))
    far = make_cadre(session, "FAR", grid="G10", base=(102.509, 37.109))
    [h1, _] = make_households(session, [(102.502, 37.1021), (102.502, 37.1022)])
    pin(session, h1, far)
    summary = assign_households(session, township=TOWNSHIP)
    assert assignments(session) == {"H001": ("G10", "FAR"), "H002": ("G10", "NEAR")}
    assert summary.pinned_kept == 1
    assert near != far


def test_churn_after_adding_one_household(session: Session, tree: None) -> None:
    make_cadre(session, "C1", grid="G10", base=(102.502, 37.105), capacity=12)
    make_cadre(session, "C2", grid="G10", base=(102.508, 37.105), capacity=12)
    pts = [(102.5005 + 0.00045 * i, 37.1005 + 0.0009 * (i % 10)) for i in range(20)]
    make_households(session, pts)
    first = assign_households(session, township=TOWNSHIP)
    assert first.newly_assigned == 20 and first.churn == 0
    before = assignments(session)
    [new] = make_households(session, [(102.5051, 37.1051)], prefix="N")
    second = assign_households(session, township=TOWNSHIP, household_ids=[new])
    after = assignments(session)
    assert second.households == 21  # the new one and the others of its grid
    assert second.newly_assigned == 1
    assert second.churn == 0
    assert {k: v for k, v in after.items() if k != "N001"} == before
    rerun = assign_households(session, township=TOWNSHIP)
    assert rerun.rows_written == 0 and rerun.churn == 0


def test_priority_households_spread(session: Session, tree: None) -> None:
    make_cadre(session, "W", grid="G10", base=(102.501, 37.105))
    make_cadre(session, "E", grid="G10", base=(102.509, 37.105))
    west = [(102.5012 + 0.0001 * i, 37.105) for i in range(4)]
    east = [(102.5088 - 0.0001 * i, 37.105) for i in range(4)]
    tags = [["低保"]] * 4 + [[]] * 4
    make_households(session, west + east, tags=tags)
    summary = assign_households(session, township=TOWNSHIP)
    got = assignments(session)
    assert sorted(got[f"H00{i}"][1] or "" for i in range(1, 5)) == ["E", "E", "W", "W"]
    assert summary.optimiser.max_priority_per_cadre == 2
    assert summary.greedy_baseline.max_priority_per_cadre == 4
    assert summary.optimiser.objective < summary.greedy_baseline.objective


def test_unknown_household_id_is_not_found(session: Session, tree: None) -> None:
    with pytest.raises(NotFound):
        assign_households(session, township=TOWNSHIP, household_ids=[999_999])


def test_locate_households_for_importers(session: Session, tree: None) -> None:
    ids = session.execute(
        text("SELECT code, id FROM grids WHERE township_code = :t"), {"t": TOWNSHIP}
    ).all()
    by_code = dict(ids)
    got = locate_households(
        session, township=TOWNSHIP, lon=[102.505, 102.51, 102.6], lat=[37.105] * 3
    )
    assert got.tolist() == [by_code["G10"], by_code["G10"], -1]
