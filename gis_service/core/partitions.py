"""Tables LIST-partitioned by township: partition names and swapping one in.

``household_assignments`` and ``households`` keep one partition per township
(``<parent>_<12-digit code>``). A big write builds a partition as a bare table,
adds its keys and indexes in bulk, and ATTACHes it: PostgreSQL checks the
partition bound against the CHECK we add (no scan) and each foreign key with one
anti-join, and takes only SHARE UPDATE EXCLUSIVE on the parent, so readers and
writers of other townships go on. Names derive from the township code only after
it is checked to be 12 digits; nothing else is formatted into DDL.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.errors import InvalidInput
from gis_service.core.models import TOWNSHIP_CODE_PATTERN

_EXISTS = text("SELECT to_regclass(:name) IS NOT NULL")
_PAGE_COST = text("SELECT current_setting('random_page_cost')")
_SET_PAGE_COST = text("SELECT set_config('random_page_cost', :v, true)")


def partition_name(parent: str, township: str) -> str:
    """The partition of ``township``; the code must be 12 digits (it becomes DDL)."""
    if not re.fullmatch(TOWNSHIP_CODE_PATTERN, township):
        raise InvalidInput(
            f"township code {township!r} is not 12 digits",
            errors=[{"field": "township", "reason": "12 digits"}],
        )
    return f"{parent}_{township}"


def partition_exists(session: Session, parent: str, township: str) -> bool:
    """Whether the township's partition of ``parent`` has been created."""
    name = partition_name(parent, township)
    return bool(session.execute(_EXISTS, {"name": name}).scalar())


def bound_check(session: Session, parent: str, township: str, table: str) -> None:
    """CHECK that ``table`` holds only ``township``: ATTACH then skips its scan."""
    name = partition_name(parent, township)
    session.execute(
        text(
            f"ALTER TABLE {table} ADD CONSTRAINT {name}_bound "
            f"CHECK (township_code IS NOT NULL AND township_code = '{township}')"
        )
    )


def attach(
    session: Session, parent: str, township: str, *, analyze: bool = True
) -> None:
    """ATTACH the built ``<parent>_<township>``, and ANALYZE it (``analyze``).

    ATTACH validates each foreign key with one anti-join. Where both sides have a
    (township_code, id) index, merging two index-only scans (fresh rows are
    all-visible) beats hashing a million keys, but the planner only sees that
    with SSD-like page costs, set for this statement alone.
    """
    name = partition_name(parent, township)
    page_cost = session.execute(_PAGE_COST).scalar_one()
    session.execute(_SET_PAGE_COST, {"v": "1.1"})
    session.execute(
        text(
            f"ALTER TABLE {parent} ATTACH PARTITION {name} FOR VALUES IN ('{township}')"
        )
    )
    session.execute(_SET_PAGE_COST, {"v": page_cost})
    if analyze:
        session.execute(text(f"ANALYZE {name}"))
