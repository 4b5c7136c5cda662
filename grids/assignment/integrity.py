"""One integrity report over the polygon half (grids) and the point half (households).

Grid faults come from ``hierarchy.check_grids``; households are tested against the
grids as drawn now, so a stale stored assignment shows up too.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from gis_service.core.sql_files import load_queries
from gis_service.core.townships import require_township
from grids.assignment.reports import REASONS
from grids.tree.hierarchy import FAULT_KINDS, check_grids, faults_collection
from grids.tree.locate import GRID_RULE, read_grids

logger = logging.getLogger(__name__)

HOUSEHOLD_FAULTS = ("outside_every_grid", "in_sibling_overlap", "on_shared_border")
LIST_LIMIT = 100


def integrity_report(
    session: Session, *, township: str, min_width_m: float = 5.0
) -> dict[str, Any]:
    """Grid gaps/overlaps/slivers, household placement, unassigned, cadres astray."""
    queries = load_queries(Path(__file__).with_name("integrity.sql"), GRID_RULE)
    params = {"t": township}
    require_township(session, township=township)
    grids = read_grids(session, township=township)
    faults = check_grids(grids, min_width_m=min_width_m)
    grid_counts = Counter(f.kind for f in faults)

    listed: dict[str, list[str]] = defaultdict(list)
    stale: list[str] = []
    for row in session.execute(queries["households"], params):
        if row.fault:
            listed[row.fault].append(row.code)
        if row.stale_grid:
            stale.append(row.code)
    counts = session.execute(queries["unassigned_counts"], params).all()
    unassigned: dict[str, int] = {str(r.reason): int(r.n) for r in counts}
    astray = [
        dict(r)
        for r in session.execute(queries["cadres_outside_home"], params).mappings()
    ]
    return {
        "township": township,
        "min_width_m": min_width_m,
        "grids": {
            "checked": len(grids),
            "counts": {k: grid_counts.get(k, 0) for k in FAULT_KINDS},
            "faults": faults_collection(faults, grids),
        },
        "households": {
            fault: {"count": len(listed[fault]), "codes": listed[fault][:LIST_LIMIT]}
            for fault in HOUSEHOLD_FAULTS
        }
        | {"stale_grid": {"count": len(stale), "codes": stale[:LIST_LIMIT]}},
        "unassigned": {reason: int(unassigned.get(reason, 0)) for reason in REASONS},
        "cadres_outside_home_grid": astray,
    }
