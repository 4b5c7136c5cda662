"""Township-level services: health, the township list and per-table counts."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.db import atomic
from gis_service.core.errors import InvalidInput, NotFound
from gis_service.core.models import TOWNSHIP_CODE_PATTERN

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


# the one statement of a township's name (the OGC requests prepare it)
TOWNSHIP_NAME = text("SELECT name FROM townships WHERE code = :c")

_UPSERT_TOWNSHIP = text(
    "INSERT INTO townships (code, name, county) "
    "VALUES (:code, :name, NULLIF(CAST(:county AS text), '')) "
    # No county keeps the one on file (a rename must not clear it); '' clears it.
    "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, "
    "county = CASE WHEN CAST(:county AS text) IS NULL THEN townships.county "
    "ELSE EXCLUDED.county END "
    "RETURNING code, name, county, (xmax = 0) AS created"
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


def check_township_code(code: str, *, field: str = "township") -> None:
    """Refuse a code that is not 12 digits (API path, CLI option) with InvalidInput."""
    if not re.fullmatch(TOWNSHIP_CODE_PATTERN, code):
        raise InvalidInput(
            f"township code {code!r} is not a 12-digit statistical code",
            errors=[
                {"field": field, "reason": "expected 12 digits, e.g. 620623101000"}
            ],
        )


def township_name(session: Session, *, township: str, hint: str = "") -> str:
    """The township's name; NotFound when it does not exist.

    The one existence check: the API's ``TownshipDep``, the CLI's ``--township``,
    the importer and the services the CLI calls all come through here.
    """
    name = session.scalar(TOWNSHIP_NAME, {"c": township})
    if name is None:
        raise NotFound(f"township {township} does not exist{hint}")
    return str(name)


def require_township(session: Session, *, township: str, hint: str = "") -> None:
    """Refuse an unknown township (NotFound, 404) before any work is done."""
    township_name(session, township=township, hint=hint)


def township_counts(session: Session, *, township: str) -> dict[str, int]:
    """Row counts per table for one township (one statement)."""
    counts = {
        r.layer: int(r.n) for r in session.execute(_COUNTS_SQL, {"township": township})
    }
    if not any(counts.values()):
        require_township(session, township=township)
    return counts


def save_township(
    session: Session, *, code: str, name: str, county: str | None = None
) -> dict[str, Any]:
    """Create a township (or rename it): the first step before importing its layers."""
    errors = []
    if not re.fullmatch(TOWNSHIP_CODE_PATTERN, code):
        errors.append({"field": "code", "reason": "a 12-digit statistical code"})
    if not name.strip() or len(name) > 100:
        errors.append({"field": "name", "reason": "1 to 100 characters"})
    if county is not None and len(county) > 100:
        errors.append({"field": "county", "reason": "at most 100 characters"})
    if errors:
        raise InvalidInput(
            f"cannot save township {code!r}: "
            + "; ".join(f"{e['field']} must be {e['reason']}" for e in errors),
            errors=errors,
        )
    with atomic(session):
        row = (
            session.execute(
                _UPSERT_TOWNSHIP, {"code": code, "name": name.strip(), "county": county}
            )
            .mappings()
            .one()
        )
    return dict(row)
