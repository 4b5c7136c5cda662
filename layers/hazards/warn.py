"""Households to warn (转移避险) around hazards, in one set-based PostGIS statement.

The radius is the request's, else the hazard's own, else its kind's default
(``settings.hazards.warn_radius_m``: landslide 500 m, flood 1000 m, fire 300 m,
road and building 100 m, electrical 50 m, other 200 m). Distances are geodesic
(geography on the WGS 84 spheroid), from a polygon's edge and 0 inside it.
Household and cadre phones are masked; priority households come first.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.auth import audit
from gis_service.core.errors import InvalidInput, NotFound
from gis_service.core.privacy import mask_phone
from gis_service.core.settings import HazardSettings
from gis_service.core.sql_files import load_queries
from gis_service.core.townships import require_township
from grids.models import PRIORITY_TAGS
from layers.hazards.ledger import grid_path, kind_code, rule_params, severity_code
from layers.hazards.schemas import WarnHazard, WarnHousehold, WarnList
from layers.models import MAX_WARN_RADIUS_M, MIN_WARN_RADIUS_M

logger = logging.getLogger(__name__)

SQL = load_queries(Path(__file__).with_name("warn.sql"))
# JIT compiling the warn plan cost more than running it (bench/warn_hazards.py).
_NO_JIT = text("SET LOCAL jit = off")
WARN_LIMIT = 100_000  # the whole list for the XLSX and the cards


def check_radius(value: Any, *, field: str = "radius_m") -> float | None:
    """A radius in metres: a finite number in [1, 50 000]; else 422 naming it."""
    if value is None:
        return None
    number: float | None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise InvalidInput(
            f"{field} must be a number of metres, e.g. 500 (got {value!r})",
            errors=[{"field": field, "reason": "not a number of metres"}],
        )
    if not MIN_WARN_RADIUS_M <= number <= MAX_WARN_RADIUS_M:
        raise InvalidInput(
            f"{field} must be at least {MIN_WARN_RADIUS_M:.0f} m and at most "
            f"{MAX_WARN_RADIUS_M:.0f} m (got {number:g})",
            errors=[
                {
                    "field": field,
                    "reason": f"{MIN_WARN_RADIUS_M:g} <= {field} "
                    f"<= {MAX_WARN_RADIUS_M:g}",
                }
            ],
        )
    return number


def warn_rows(
    session: Session,
    *,
    township: str,
    settings: HazardSettings,
    code: str | None = None,
    kind: str | None = None,
    severity: str | None = None,
    grid: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    radius_m: Any = None,
    limit: int = WARN_LIMIT,
    offset: int = 0,
) -> tuple[list[Any], list[Any]]:
    """(household rows, hazard rows), unmasked: for the list, the XLSX and cards.

    The totals (``total``, ``priority_total``, ``people``) ride on the hazard rows.
    """
    minx, miny, maxx, maxy = bbox if bbox is not None else (None,) * 4
    params = {
        "t": township, "code": code, "kind": kind_code(kind),
        "severity": severity_code(severity),
        "grid_path": grid_path(session, township=township, grid=grid),
        "minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy,
        "radius_m": check_radius(radius_m),
        "priority_tags": list(PRIORITY_TAGS), "limit": limit, "offset": offset,
        **rule_params(settings),
    }  # fmt: skip
    session.execute(_NO_JIT)
    rows = list(session.execute(SQL["warn"], params))
    households = [r for r in rows if r.row_kind == "household"]
    hazards = [r for r in rows if r.row_kind == "hazard"]
    if code is not None and not hazards:
        raise NotFound(f"hazard {code!r} does not exist in township {township}")
    return households, hazards


def warn_household(row: Any, unmask: bool = False) -> WarnHousehold:
    """One listed household, phones masked unless the caller's role unmasks them."""
    shown = (lambda phone: phone) if unmask else mask_phone
    return WarnHousehold(
        household=row.code, head_name=row.head_name, members=row.members,
        village=row.village, address=row.address, phone=shown(row.phone),
        tags=list(row.tags or []), priority=bool(row.priority), lon=row.lon,
        lat=row.lat, distance_m=round(float(row.distance_m), 2), hazard=row.hazard,
        hazard_kind=row.kind, radius_m=row.radius_m, hazards=list(row.hazards),
        grid=row.grid, grid_name=row.grid_name, cadre=row.cadre,
        cadre_name=row.cadre_name, cadre_phone=shown(row.cadre_phone),
    )  # fmt: skip


def warn_list(
    session: Session,
    *,
    township: str,
    settings: HazardSettings,
    limit: int = 1000,
    offset: int = 0,
    unmask: bool = False,
    **choice: Any,
) -> WarnList:
    """The households to warn for one hazard (``code``) or every open one chosen."""
    require_township(session, township=township)
    households, hazards = warn_rows(
        session, township=township, settings=settings, limit=limit, offset=offset,
        **choice,
    )  # fmt: skip
    if unmask:
        audit_unmasked(session, township=township, rows=households)
    summary = hazards[0] if hazards else None
    logger.info(
        "warn list in %s: %d hazards, %d households", township, len(hazards),
        summary.total if summary else 0,
    )  # fmt: skip
    return WarnList(
        township=township,
        hazards=[
            WarnHazard(
                code=h.code,
                kind=h.kind,
                severity=h.severity,
                radius_m=h.radius_m,
                households=int(h.n),
            )
            for h in hazards
        ],
        total=int(summary.total) if summary else 0,
        priority=int(summary.priority_total) if summary else 0,
        people=int(summary.people) if summary else 0,
        limit=limit,
        offset=offset,
        items=[warn_household(r, unmask) for r in households],
    )


def audit_unmasked(session: Session, *, township: str, rows: list[Any]) -> None:
    """Record who saw which households' phones whole (the cadres' go with them)."""
    if rows:
        audit.record(
            session,
            action="unmask",
            township=township,
            rows={"layer": "households", "codes": [r.code for r in rows]},
        )


def nearest_shelters(
    session: Session, *, township: str, rows: list[Any]
) -> dict[str, list[Any]]:
    """Each listed household's three nearest shelters outside its hazard's radius."""
    if not rows:
        return {}
    found = session.execute(
        SQL["shelters"],
        {"t": township, "households": [r.code for r in rows],
         "hazards": [r.hazard for r in rows], "radii": [r.radius_m for r in rows]},
    )  # fmt: skip
    out: dict[str, list[Any]] = {}
    for shelter in found:
        out.setdefault(shelter.household, []).append(shelter)
    return out
