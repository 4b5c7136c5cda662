"""Rectification statistics (整改统计) per grid subtree and for the township."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from gis_service.core.inputs import china_today
from gis_service.core.sql_files import load_queries
from gis_service.core.townships import require_township
from layers.hazards.ledger import grid_path, kind_code
from layers.hazards.schemas import HazardStats, StatsRow

SQL = load_queries(Path(__file__).with_name("stats.sql"))


def hazard_stats(
    session: Session,
    *,
    township: str,
    grid: str | None = None,
    kind: str | None = None,
    as_of: date | None = None,
) -> HazardStats:
    """Found, rectifying, closed, rate, overdue and median days to close."""
    require_township(session, township=township)
    today = as_of or china_today()
    rows = session.execute(
        SQL["stats"],
        {"t": township, "kind": kind_code(kind), "today": today,
         "grid_path": grid_path(session, township=township, grid=grid)},
    )  # fmt: skip
    out = []
    for r in rows:
        median = r.median_days_to_close
        out.append(
            StatsRow(
                grid=r.grid,
                name=r.name,
                level=r.level,
                depth=r.depth,
                total=r.total,
                found=r.found,
                rectifying=r.rectifying,
                closed=r.closed,
                rate=round(r.closed / r.total, 4) if r.total else None,
                overdue=r.overdue,
                median_days_to_close=None if median is None else round(median, 2),
            )
        )
    return HazardStats(township=township, as_of=today, rows=out)
