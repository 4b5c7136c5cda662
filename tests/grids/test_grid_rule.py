"""The one "which grid holds a point" rule, whatever the database's collation.

Deepest covering grid; ties go to the lowest code in byte order (``COLLATE "C"``,
numpy's order). The test database sorts text by C.UTF-8, which hid drift: here
the grid codes are switched to a linguistic ICU collation (inside the test's
transaction, so rolled back), under which ``b1`` sorts before ``C1``; every
implementation of the rule must still pick ``C1``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

import shapely

from gis_service.app.demo import load
from grids.assignment.integrity import integrity_report
from grids.assignment.service import assign_households
from grids.tree.locate import (
    covering_grid_sql,
    grid_order_sql,
    locate_points,
    read_grids,
)
from layers.io.specs import get_layer
from tests.factories import TOWNSHIP, make_grid, make_households, make_township
from tests.grids.factories_assign import rect

ROOT = Path(__file__).resolve().parents[2]
LINGUISTIC = "und-x-icu"
POINT = (102.505, 37.105)  # inside both grids


@pytest.fixture
def twins(session: Session) -> None:
    """Two equally deep grids over the same ground, codes b1 and C1."""
    if (
        session.scalar(
            text("SELECT count(*) FROM pg_collation WHERE collname = :c"),
            {"c": LINGUISTIC},
        )
        == 0
    ):
        pytest.skip(f"PostgreSQL has no {LINGUISTIC} collation (built without ICU)")
    session.execute(
        text(
            "ALTER TABLE grids ALTER COLUMN code "
            f'TYPE varchar(64) COLLATE "{LINGUISTIC}"'
        )
    )
    make_township(session)
    make_grid(session, "b1", rect(102.50, 37.10, 102.51, 37.11))
    make_grid(session, "C1", rect(102.50, 37.10, 102.51, 37.11))


def test_the_two_codes_order_differently_by_collation(
    session: Session, twins: None
) -> None:
    plain = "SELECT code FROM grids WHERE township_code = :t ORDER BY depth DESC, code"
    # the column's own (linguistic) order puts b1 first: a rule without C is wrong
    assert session.scalars(text(plain), {"t": TOWNSHIP}).first() == "b1"
    ruled = (
        "SELECT g.code FROM grids g WHERE g.township_code = :t "
        f"ORDER BY {grid_order_sql('g')}"
    )
    assert session.scalars(text(ruled), {"t": TOWNSHIP}).first() == "C1"
    assert sorted(["b1", "C1"]) == ["C1", "b1"]  # Python/numpy: code-point order


def test_numpy_and_sql_pick_the_same_grid(session: Session, twins: None) -> None:
    grids = read_grids(session, township=TOWNSHIP)
    found = locate_points(
        [POINT[0]], [POINT[1]], grids["geom"].to_numpy(), grids["depth"], grids["code"]
    )
    assert grids["code"].iloc[found[0]] == "C1"
    in_sql = session.scalar(
        text(
            f"SELECT g.code FROM grids g WHERE g.id = (SELECT {covering_grid_sql('s')} "
            "FROM (SELECT ST_SetSRID(ST_MakePoint(:x, :y), 4326) AS geom) s)"
        ),
        {"t": TOWNSHIP, "x": POINT[0], "y": POINT[1]},
    )
    assert in_sql == "C1"


def test_assignment_and_integrity_agree(session: Session, twins: None) -> None:
    make_households(session, [POINT])
    assign_households(session, township=TOWNSHIP)
    grid = session.scalar(
        text(
            "SELECT g.code FROM households_assigned h JOIN grids g ON g.id = h.grid_id "
            "WHERE h.township_code = :t"
        ),
        {"t": TOWNSHIP},
    )
    assert grid == "C1"
    report = integrity_report(session, township=TOWNSHIP)
    # the integrity check's rule picks the grid the assignment wrote: not stale
    assert report["households"]["stale_grid"]["count"] == 0


def test_hazard_import_and_demo_loader_use_the_rule() -> None:
    computed = dict(get_layer("hazards").computed)["grid_id"]
    assert computed == covering_grid_sql("s")
    demo = " ".join(str(q) for q in load._INSERT.values())
    assert covering_grid_sql("s") in demo


def test_no_grid_order_without_collate_c() -> None:
    """A code tie-break after depth must be byte order, wherever it is written."""
    loose = re.compile(r"depth DESC,\s*[\w.]*code\b(?!\s+COLLATE \"C\")")
    offenders = [
        str(p.relative_to(ROOT))
        for package in ("gis_service", "grids", "layers", "maps")
        for p in (ROOT / package).rglob("*")
        if p.suffix in (".py", ".sql") and loose.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_numpy_rank_is_byte_order() -> None:
    codes = np.array(["b1", "C1", "a-2", "a1", "网格2", "网格10"], dtype=object)
    geoms = np.array([shapely.box(0, 0, 1, 1)] * len(codes))
    found = locate_points([0.5], [0.5], geoms, [0] * len(codes), codes)
    assert codes[found[0]] == min(codes, key=lambda c: c.encode("utf-8"))
