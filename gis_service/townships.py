"""Township-level services: health, the township list and per-table counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.errors import NotFound

COUNTED_TABLES = (
    "grids", "cadres", "households", "pasture_parcels", "hazards",
    "visits", "demands", "disputes", "roads",
)  # fmt: skip

_COUNTS_SQL = text(
    " UNION ALL ".join(
        f"SELECT '{t}' AS layer, count(*) AS n FROM {t} WHERE township_code = :township"
        for t in COUNTED_TABLES
    )
)


def database_versions(session: Session) -> dict[str, str]:
    """PostgreSQL and PostGIS versions, for /health."""
    row = session.execute(
        text(
            "SELECT current_setting('server_version'), postgis_lib_version(), "
            "postgis_full_version()"
        )
    ).one()
    return {"postgresql": row[0], "postgis": row[1], "postgis_full": row[2]}


def list_townships(session: Session) -> list[dict[str, Any]]:
    """Every township with its household count."""
    rows = session.execute(
        text(
            "SELECT t.code, t.name, t.county, "
            "(SELECT count(*) FROM households h WHERE h.township_code = t.code) "
            "AS households "
            "FROM townships t ORDER BY t.code"
        )
    ).mappings()
    return [dict(r) for r in rows]


def township_counts(session: Session, *, township: str) -> dict[str, int]:
    """Row counts per table for one township (one statement)."""
    counts = {
        r.layer: int(r.n) for r in session.execute(_COUNTS_SQL, {"township": township})
    }
    if not any(counts.values()):
        exists = session.execute(
            text("SELECT 1 FROM townships WHERE code = :c"), {"c": township}
        ).first()
        if exists is None:
            raise NotFound(f"township {township} does not exist")
    return counts


def require_township(session: Session, *, township: str) -> None:
    """Refuse an unknown township in services the CLI calls (no TownshipDep there)."""
    found = session.execute(
        text("SELECT 1 FROM townships WHERE code = :c"), {"c": township}
    ).first()
    if found is None:
        raise NotFound(f"township {township} does not exist")
