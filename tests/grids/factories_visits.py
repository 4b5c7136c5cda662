"""Fixtures for visits, coverage and routes: a tiny township with known distances.

Grid tree R (core) > A, B; households H001..H006 along a parallel at 37.1°N; two
cadres with bases. Assignment (issue 4) is set directly with SQL here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from grids.assignment.store import assign_to
from tests.factories import (
    TOWNSHIP,
    make_cadre,
    make_grid,
    make_households,
    make_township,
    square,
)

LAT = 37.1
# 0.001° of latitude ≈ 111.0 m; of longitude at 37.1°N ≈ 88.7 m.


@dataclass
class Town:
    grids: dict[str, int]
    households: dict[str, int]
    cadres: dict[str, int]


def assign(
    session: Session,
    household_ids: Sequence[int],
    *,
    grid: int | None,
    cadre: int | None,
) -> None:
    """Put households in a grid with a cadre (what issue 4's assignment will do)."""
    assign_to(
        session,
        township=TOWNSHIP,
        household_ids=household_ids,
        grid_id=grid,
        cadre_id=cadre,
    )
    session.commit()


def make_town(session: Session) -> Town:
    """R > A (H001-H004, cadre C1) and B (H005-H006, cadre C2)."""
    make_township(session)
    grids = {
        "R": make_grid(session, "R", square(102.49, 37.09, 0.03), level="core"),
    }
    grids["A"] = make_grid(session, "A", square(102.49, 37.09, 0.015), parent="R")
    grids["B"] = make_grid(session, "B", square(102.505, 37.09, 0.015), parent="R")
    points = [(102.500, LAT), (102.501, LAT), (102.502, LAT), (102.503, LAT),
              (102.510, LAT), (102.511, LAT)]  # fmt: skip
    tags = [["脱贫不稳定户"], [], ["边缘易致贫户", "低保"], [], ["突发严重困难户"], []]
    ids = make_households(session, points, tags=tags)
    households = {f"H{i + 1:03d}": hid for i, hid in enumerate(ids)}
    cadres = {
        "C1": make_cadre(session, "C1", grid="A", base=(102.500, 37.101)),
        "C2": make_cadre(session, "C2", grid="B", base=(102.510, 37.101)),
    }
    assign(session, ids[:4], grid=grids["A"], cadre=cadres["C1"])
    assign(session, ids[4:], grid=grids["B"], cadre=cadres["C2"])
    return Town(grids, households, cadres)


def make_visit_rows(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert a hand-built visit history in one statement.

    Each row: household_id, cadre_id, visited_at (ISO), optional lon/lat fix.
    """
    session.execute(
        text(
            """
            INSERT INTO visits (township_code, household_id, cadre_id, visited_at, fix)
            SELECT :t, r.household_id, r.cadre_id, r.visited_at,
                   CASE WHEN r.lon IS NULL THEN NULL
                        ELSE ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326) END
            FROM jsonb_to_recordset(CAST(:rows AS jsonb))
                 AS r(household_id bigint, cadre_id bigint, visited_at timestamptz,
                      lon float8, lat float8)
            """
        ),
        {"t": TOWNSHIP, "rows": json.dumps(list(rows), default=str)},
    )
    session.commit()


def make_road(
    session: Session, code: str, coords: Sequence[tuple[float, float]]
) -> None:
    """A road (MultiLineString with one part) through the given (lon, lat) vertices."""
    line = ", ".join(f"{x} {y}" for x, y in coords)
    session.execute(
        text(
            "INSERT INTO roads (township_code, code, geom) "
            "VALUES (:t, :c, ST_GeomFromEWKT(:g))"
        ),
        {"t": TOWNSHIP, "c": code, "g": f"SRID=4326;MULTILINESTRING(({line}))"},
    )
    session.commit()


def at(day: str) -> datetime:
    """A UTC timestamp from 'YYYY-MM-DD'."""
    return datetime.fromisoformat(day + "T02:00:00+00:00")
