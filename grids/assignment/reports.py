"""Assignment reports: per grid rolled up the tree, per cadre, and who is left out."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import TextClause
from sqlalchemy.orm import Session

from gis_service.core.errors import InvalidInput
from gis_service.core.geojson import feature_collection
from gis_service.core.pages import GEOJSON, page_links
from gis_service.core.sql_files import load_queries
from gis_service.core.townships import require_township
from grids.assignment.cadres import REASON_CAPACITY, REASON_NO_CADRE, REASON_OUTSIDE
from grids.assignment.schemas import CadreLoad, GridRollup
from grids.models import PRIORITY_TAGS
from grids.tree.locate import GRID_RULE

logger = logging.getLogger(__name__)

DEFAULT_CAPACITY = 14
REASONS = (REASON_OUTSIDE, REASON_NO_CADRE, REASON_CAPACITY)
Reason = Literal["outside_every_grid", "grid_has_no_cadre", "capacity_exhausted"]


SQL = load_queries(Path(__file__).with_name("reports.sql"), GRID_RULE)


def _q(name: str) -> TextClause:
    return SQL[name]


def grid_rollup(session: Session, *, township: str) -> list[GridRollup]:
    """Households, people, tags, cadres, load and shortfall per grid and its subtree."""
    require_township(session, township=township)
    rows = session.execute(
        _q("grid_rollup"),
        {
            "t": township,
            "priority": list(PRIORITY_TAGS),
            "default_capacity": DEFAULT_CAPACITY,
        },
    ).mappings()
    out = []
    for r in rows:
        row: dict[str, Any] = dict(r)
        uncovered = row.pop("uncovered")
        need = row["cadres_needed"]
        row["unassigned"] = row["households"] - row["assigned"]
        row["load_per_cadre"] = (
            round(row["assigned"] / row["cadres"], 2) if row["cadres"] else None
        )
        row["shortfall"] = (
            f"grid {row['code']} needs {need} more cadre{'s' if need > 1 else ''} "
            f"for {uncovered} household{'s' if uncovered > 1 else ''}"
            if need
            else None
        )
        out.append(GridRollup(**row))
    return out


def cadre_loads(session: Session, *, township: str) -> list[CadreLoad]:
    """Each cadre's load, priority load, pins and mean distance to base (m)."""
    rows = session.execute(
        _q("cadre_loads"), {"t": township, "priority": list(PRIORITY_TAGS)}
    ).mappings()
    return [CadreLoad(**r) for r in rows]


def unassigned_households(
    session: Session,
    *,
    township: str,
    reason: str | None = None,
    household_ids: Sequence[int] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Households without a cadre, with the reason and (outside) the nearest grid."""
    if reason is not None and reason not in REASONS:
        raise InvalidInput(
            f"reason {reason!r} is not one of {list(REASONS)}",
            errors=[{"field": "reason", "reason": f"expected one of {list(REASONS)}"}],
        )
    ids = None if household_ids is None else [int(i) for i in household_ids]
    rows = session.execute(
        _q("unassigned"),
        {"t": township, "reason": reason, "ids": ids, "limit": limit, "offset": offset},
    ).mappings()
    return [dict(r) for r in rows]


def unassigned_collection(
    session: Session,
    *,
    township: str,
    reason: str | None = None,
    limit: int = 100,
    offset: int = 0,
    url: str | None = None,
) -> dict[str, Any]:
    """Unassigned households as a paged GeoJSON FeatureCollection."""
    rows = unassigned_households(
        session, township=township, reason=reason, limit=limit, offset=offset
    )
    matched = int(rows[0]["matched"]) if rows else 0
    links = page_links(
        url, limit=limit, offset=offset, matched=matched, media_type=GEOJSON
    )
    return feature_collection(
        [{k: v for k, v in r.items() if k != "matched"} for r in rows],
        township=township,
        reason=reason,
        numberMatched=matched,
        numberReturned=len(rows),
        links=[link.model_dump() for link in links],
    )
