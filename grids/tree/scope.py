"""Look-ups shared by visits, demands and coverage: grid subtrees, code checks."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.errors import InvalidInput, NotFound

_GRID_PATH = text("SELECT path FROM grids WHERE township_code = :t AND code = :code")

_MISSING_REFS = text(
    """
    SELECT r.num, r.field, r.kind, r.code
    FROM jsonb_to_recordset(CAST(:refs AS jsonb))
         AS r(num int, field text, kind text, code text)
    WHERE (r.kind = 'household' AND NOT EXISTS (
              SELECT 1 FROM households h
              WHERE h.township_code = :t AND h.code = r.code))
       OR (r.kind = 'cadre' AND NOT EXISTS (
              SELECT 1 FROM cadres c WHERE c.township_code = :t AND c.code = r.code))
    ORDER BY r.num, r.field
    """
)


def grid_path(session: Session, *, township: str, grid: str) -> str:
    """The materialised path of a grid by code (subtree: ``path LIKE p || '%'``)."""
    path = session.execute(_GRID_PATH, {"t": township, "code": grid}).scalar()
    if path is None:
        raise NotFound(f"grid {grid!r} does not exist in township {township}")
    return str(path)


def check_references(
    session: Session, *, township: str, refs: list[dict[str, Any]]
) -> None:
    """Raise InvalidInput naming every household/cadre code that does not exist.

    ``refs`` rows: ``num`` (row number), ``field``, ``kind`` (household|cadre) and
    ``code``; all are checked in one statement.
    """
    missing = session.execute(
        _MISSING_REFS, {"t": township, "refs": json.dumps(refs, ensure_ascii=False)}
    ).all()
    if missing:
        raise InvalidInput(
            f"{len(missing)} unknown household/cadre codes in township {township}; "
            "nothing was recorded",
            errors=[
                {
                    "feature": m.num,
                    "field": m.field,
                    "reason": f"no {m.kind} {m.code!r}",
                }
                for m in missing
            ],
        )
