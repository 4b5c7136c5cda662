"""Named SQL statements kept in a ``.sql`` file beside the service that runs them.

A file holds several statements, each introduced by a ``-- name: <key>`` line
(the aiosql convention), so long spatial SQL is read, diffed and EXPLAINed as SQL.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import TextClause, text

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def load_queries(path: Path) -> dict[str, TextClause]:
    """Parse ``path`` into ``{name: text(statement)}``; a trailing ';' is dropped."""
    body = path.read_text(encoding="utf-8")
    parts = _NAME.split(body)
    queries: dict[str, TextClause] = {}
    for name, sql in zip(parts[1::2], parts[2::2], strict=True):
        statement = sql.strip().rstrip(";").strip()
        if name in queries:
            raise ValueError(f"{path.name}: query {name!r} is defined twice")
        queries[name] = text(statement)
    return queries
