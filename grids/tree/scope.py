"""Look-ups shared by visits, demands and coverage: grid subtrees, code checks."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.errors import InvalidInput, NotFound

# The one subtree rule: a grid's subtree is every grid whose materialised path
# starts with its path. GRID_PATH_SQL finds the path of grid :grid in township :t;
# SUBTREE_IDS_SQL is the same look-up inline, for filters built as SQL.
GRID_PATH_SQL = "SELECT path FROM grids WHERE township_code = :t AND code = :grid"
SUBTREE_IDS_SQL = (
    "SELECT x.id FROM grids x WHERE x.township_code = :t "
    f"AND x.path LIKE ({GRID_PATH_SQL}) || '%'"
)
_GRID_PATH = text(GRID_PATH_SQL)

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


def grid_path(
    session: Session, *, township: str, grid: str, field: str | None = None
) -> str:
    """The materialised path of a grid by code (subtree: ``path LIKE p || '%'``).

    An unknown grid is NotFound (404); with ``field`` the grid came as a filter
    value, so it is InvalidInput (422) naming that field.
    """
    path = session.execute(_GRID_PATH, {"t": township, "grid": grid}).scalar()
    if path is None:
        detail = f"grid {grid!r} does not exist in township {township}"
        if field is not None:
            raise InvalidInput(
                detail, errors=[{"field": field, "reason": "unknown grid code"}]
            )
        raise NotFound(detail)
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
