"""Named SQL statements kept in a ``.sql`` file beside the service that runs them.

A file holds several statements, each introduced by a ``-- name: <key>`` line
(the aiosql convention), so long spatial SQL is read, diffed and EXPLAINed as SQL.
A rule written once in Python enters a file as ``{{fragment:alias}}``: the
loader replaces it with ``fragments["fragment"](alias)`` (constants only, never
request data), so the file cannot drift from the rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

from sqlalchemy import TextClause, text

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)
_FRAGMENT = re.compile(r"\{\{(\w+)(?::(\w+))?\}\}")

Fragments = Mapping[str, Callable[[str], str]]


def expand(sql: str, fragments: Fragments, *, where: str = "SQL") -> str:
    """Replace each ``{{name:alias}}`` with ``fragments[name](alias)``."""

    def one(match: re.Match[str]) -> str:
        name, alias = match.group(1), match.group(2) or ""
        if name not in fragments:
            raise ValueError(f"{where}: unknown fragment {{{{{name}}}}}")
        return fragments[name](alias)

    return _FRAGMENT.sub(one, sql)


def load_queries(
    path: Path, fragments: Fragments | None = None
) -> dict[str, TextClause]:
    """Parse ``path`` into ``{name: text(statement)}``; a trailing ';' is dropped."""
    body = expand(path.read_text(encoding="utf-8"), fragments or {}, where=path.name)
    parts = _NAME.split(body)
    queries: dict[str, TextClause] = {}
    for name, sql in zip(parts[1::2], parts[2::2], strict=True):
        statement = sql.strip().rstrip(";").strip()
        if name in queries:
            raise ValueError(f"{path.name}: query {name!r} is defined twice")
        queries[name] = text(statement)
    return queries
