"""Tables LIST-partitioned by township: partition names and swapping one in.

``household_assignments`` and ``households`` keep one partition per township
(``<parent>_<12-digit code>``). A big write builds a partition as a bare table,
adds its keys and indexes in bulk, and ATTACHes it: PostgreSQL checks the
partition bound against the CHECK we add (no scan) and each foreign key with one
anti-join, and takes only SHARE UPDATE EXCLUSIVE on the parent, so readers and
writers of other townships go on. Names derive from the township code only after
it is checked to be 12 digits; nothing else is formatted into DDL.

The service logs in as a role that owns nothing (migration 0140): what needs the
parent's owner (a partition created, attached, detached, dropped) goes through
the SECURITY DEFINER function ``gridgis_partition``, which checks the parent and
the code again. The bare table a partition is built in is the caller's own.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gis_service.core.errors import InvalidInput
from gis_service.core.faults import ServiceUnavailable, sqlstate
from gis_service.core.models import TOWNSHIP_CODE_PATTERN

logger = logging.getLogger(__name__)

# Below deadlock_timeout (1 s): this side gives up before PostgreSQL would pick
# a victim, so readers never see a deadlock caused by a swap. Attempts: with four
# readers hammering the tables a swap needed up to 40 and more while requests
# held their locks across sign-in and map rendering; since they do not
# (``core.db.committed_at_once``, ``end_reads``) at most 9 were seen. 100
# (about 45 s) before a 503 keeps a margin for a loaded machine.
SWAP_WAIT = "200ms"
SWAP_ATTEMPTS = 100
_LOCK_TIMEOUT = text("SELECT current_setting('lock_timeout')")
_SET_LOCK_TIMEOUT = text("SELECT set_config('lock_timeout', :v, true)")
_EXISTS = text("SELECT to_regclass(:name) IS NOT NULL")
_PAGE_COST = text("SELECT current_setting('random_page_cost')")
_PARTITION = text("SELECT gridgis_partition(:action, :parent, :township)")
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
    partition_name(parent, township)
    page_cost = session.execute(_PAGE_COST).scalar_one()
    session.execute(_SET_PAGE_COST, {"v": "1.1"})
    action = "attach_analyze" if analyze else "attach"
    partition_ddl(session, action, parent, township)
    session.execute(_SET_PAGE_COST, {"v": page_cost})


def swap(session: Session, parent: str, township: str) -> None:
    """Replace ``<parent>_<township>`` by the built ``<parent>_<township>_next``.

    One owner call (detach and drop the old, rename the new and its indexes,
    attach, analyze): for household_assignments it then syncs the township's
    scope keys once (migration 0160). Page costs as in ``attach``.
    """
    partition_name(parent, township)
    page_cost = session.execute(_PAGE_COST).scalar_one()
    session.execute(_SET_PAGE_COST, {"v": "1.1"})
    partition_ddl(session, "swap", parent, township)
    session.execute(_SET_PAGE_COST, {"v": page_cost})


def partition_ddl(session: Session, action: str, parent: str, township: str) -> None:
    """Owner DDL on ``<parent>_<township>``: create, attach, swap, detach_drop, drop."""
    partition_name(parent, township)
    session.execute(
        _PARTITION, {"action": action, "parent": parent, "township": township}
    )


def lock_for_swap(session: Session, tables: Sequence[str]) -> None:
    """Take every lock a partition swap needs at once, backing off instead of waiting.

    DETACH, DROP and ATTACH each take ACCESS EXCLUSIVE locks on the parent and
    on the tables its foreign keys reference, one after another; a reader that
    already holds one of them and waits for another closes a cycle (a deadlock,
    one side's 500). Here they are requested together, each attempt allowed
    only ``SWAP_WAIT``; on a timeout the attempt's locks are released (savepoint
    rollback), readers go on, and after a short random pause it tries again.
    ``tables`` are code constants, never request values.
    """
    statement = text(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
    for attempt in range(1, SWAP_ATTEMPTS + 1):
        savepoint = session.begin_nested()
        try:
            previous = session.execute(_LOCK_TIMEOUT).scalar_one()
            session.execute(_SET_LOCK_TIMEOUT, {"v": SWAP_WAIT})
            session.execute(statement)
            session.execute(_SET_LOCK_TIMEOUT, {"v": previous})
            savepoint.commit()
            return
        except OperationalError as exc:
            if sqlstate(exc) not in ("55P03", "40P01"):
                raise
            savepoint.rollback()
            time.sleep(random.uniform(0.02, 0.1) * min(attempt, 5))
    logger.warning("partition swap: readers held %s; gave up", ", ".join(tables))
    raise ServiceUnavailable(
        "数据正被大量读取，请稍后重试 (the tables stayed busy; nothing was written)",
        retry_after=5,
    )
