"""The maps' reads: plain rows out of PostGIS, every statement scoped by township.

These read the tables directly (not the assignment/coverage/dispute services, which
are built in parallel) so the lead can swap those services in behind the same plain
data the renderer takes. The interim household status rule is
``household_status_sql`` (``sql/household_status.sql``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from gis_service.errors import NotFound
from grids.models import PRIORITY_TAGS

logger = logging.getLogger(__name__)

SQL_DIR = Path(__file__).with_name("sql")
OVERDUE_DAYS = 90
FRAGILE_OVERDUE_DAYS = 30
FRAGILE_TAGS = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
OPEN_DISPUTE_STATUSES = ("open", "mediating")


@cache
def _sql(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")


def household_status_sql() -> str:
    """The SELECT giving each household its map status (the one interim rule)."""
    return _sql("household_status.sql")


def status_params(
    township: str, grid_path: str | None, as_of: datetime
) -> dict[str, Any]:
    """Bound parameters of ``household_status_sql``."""
    return {
        "t": township,
        "grid_path": grid_path,
        "as_of": as_of,
        "overdue_days": OVERDUE_DAYS,
        "fragile_overdue_days": FRAGILE_OVERDUE_DAYS,
        "fragile_tags": list(FRAGILE_TAGS),
        "priority_tags": list(PRIORITY_TAGS),
    }


TOWNSHIP_NAME = text("SELECT name FROM townships WHERE code = :t")

GRID_PATH = text("SELECT path FROM grids WHERE township_code = :t AND code = :code")

HAZARDS = text(
    """
    SELECT z.id, z.code, z.kind, z.severity, z.status, z.description,
           z.warn_radius_m, z.found_at, z.deadline,
           ST_X(z.geom) AS lon, ST_Y(z.geom) AS lat
    FROM hazards z
    LEFT JOIN grids root ON root.township_code = z.township_code
                        AND root.path = CAST(:grid_path AS text)
    WHERE z.township_code = :t
      AND (CAST(:grid_path AS text) IS NULL OR ST_Intersects(z.geom, root.geom))
    ORDER BY z.code
    """
)

OPEN_DISPUTES = text(
    """
    SELECT d.id, d.status, d.overlap_area_m2, pa.contract_no AS parcel_a,
           pb.contract_no AS parcel_b, ST_AsGeoJSON(d.overlap, 7) AS geometry
    FROM disputes d
    JOIN pasture_parcels pa ON pa.township_code = d.township_code
                           AND pa.id = d.parcel_a_id
    JOIN pasture_parcels pb ON pb.township_code = d.township_code
                           AND pb.id = d.parcel_b_id
    LEFT JOIN grids root ON root.township_code = d.township_code
                        AND root.path = CAST(:grid_path AS text)
    WHERE d.township_code = :t AND d.status IN :statuses AND d.overlap IS NOT NULL
      AND (CAST(:grid_path AS text) IS NULL OR ST_Intersects(d.overlap, root.geom))
    ORDER BY d.id
    """
).bindparams(bindparam("statuses", value=OPEN_DISPUTE_STATUSES, expanding=True))

CADRE = text(
    """
    SELECT c.id, c.code, c.name, c.phone, ST_X(c.base) AS lon, ST_Y(c.base) AS lat
    FROM cadres c WHERE c.township_code = :t AND c.code = :code
    """
)

DISPUTE = text(
    """
    SELECT d.id, d.status, d.overlap_area_m2, d.first_detected_at,
           d.last_detected_at, ST_AsGeoJSON(d.overlap, 7) AS geometry
    FROM disputes d WHERE d.township_code = :t AND d.id = :id
    """
)

DISPUTE_PARCELS = text(
    """
    SELECT p.id, p.contract_no, p.contract_area_mu::float8 AS contract_area_mu,
           ST_Area(p.geom::geography) AS area_m2,
           h.code AS holder_code, h.head_name AS holder_name,
           h.phone AS holder_phone, h.id_number AS holder_id_number,
           CASE WHEN p.id = d.parcel_a_id THEN 'a' ELSE 'b' END AS side,
           ST_AsGeoJSON(p.geom, 7) AS geometry
    FROM disputes d
    JOIN pasture_parcels p ON p.township_code = d.township_code
                          AND p.id IN (d.parcel_a_id, d.parcel_b_id)
    LEFT JOIN households h ON h.township_code = p.township_code
                          AND h.id = p.holder_household_id
    WHERE d.township_code = :t AND d.id = :id
    ORDER BY side
    """
)


def _rows(
    session: Session, statement: Any, params: dict[str, Any]
) -> list[dict[str, Any]]:
    return [dict(r) for r in session.execute(statement, params).mappings()]


def township_name(session: Session, *, township: str) -> str:
    """The township's name; NotFound when it does not exist."""
    name = session.scalar(TOWNSHIP_NAME, {"t": township})
    if name is None:
        raise NotFound(f"township {township} does not exist")
    return str(name)


def grid_path(session: Session, *, township: str, grid_code: str | None) -> str | None:
    """The materialised path of a grid (subtree filter), or None for the township."""
    if grid_code is None:
        return None
    path = session.scalar(GRID_PATH, {"t": township, "code": grid_code})
    if path is None:
        raise NotFound(f"grid {grid_code!r} does not exist in township {township}")
    return str(path)


def household_rows(
    session: Session, *, township: str, grid_path: str | None, as_of: datetime
) -> list[dict[str, Any]]:
    """Households in scope with status, priority, last visit and cadre name."""
    statement = text(household_status_sql() + "\nORDER BY lon")
    return _rows(session, statement, status_params(township, grid_path, as_of))


def grid_rows(
    session: Session, *, township: str, grid_path: str | None, as_of: datetime
) -> list[dict[str, Any]]:
    """Grids in scope with household counts and coverage, as GeoJSON text."""
    statement = text(
        f"WITH hs AS ({household_status_sql()}),\n{_sql('grid_coverage.sql')}"
    )
    return _rows(session, statement, status_params(township, grid_path, as_of))


def hazard_rows(
    session: Session, *, township: str, grid_path: str | None
) -> list[dict[str, Any]]:
    """Hazards in scope (inside the subtree's root polygon when a grid is given)."""
    return _rows(session, HAZARDS, {"t": township, "grid_path": grid_path})


def open_dispute_rows(
    session: Session, *, township: str, grid_path: str | None
) -> list[dict[str, Any]]:
    """Overlaps of disputes still open or under mediation."""
    return _rows(session, OPEN_DISPUTES, {"t": township, "grid_path": grid_path})


def cadre_row(session: Session, *, township: str, cadre_code: str) -> dict[str, Any]:
    """One cadre with the lon/lat of their base (None when not recorded)."""
    rows = _rows(session, CADRE, {"t": township, "code": cadre_code})
    if not rows:
        raise NotFound(f"cadre {cadre_code!r} does not exist in township {township}")
    return rows[0]


def cadre_household_rows(
    session: Session, *, township: str, cadre_id: int, as_of: datetime
) -> list[dict[str, Any]]:
    """The households assigned to one cadre, with their map status."""
    statement = text(
        f"SELECT * FROM ({household_status_sql()}) hs "
        "WHERE hs.cadre_id = :cadre ORDER BY hs.code"
    )
    params = status_params(township, None, as_of) | {"cadre": cadre_id}
    return _rows(session, statement, params)


def dispute_rows(
    session: Session, *, township: str, dispute_id: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A dispute and its two parcels with their holders (unmasked: mask on output)."""
    params = {"t": township, "id": dispute_id}
    rows = _rows(session, DISPUTE, params)
    if not rows:
        raise NotFound(f"dispute {dispute_id} does not exist in township {township}")
    return rows[0], _rows(session, DISPUTE_PARCELS, params)
