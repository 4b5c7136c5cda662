"""Where assignments are stored: ``household_assignments``, one partition per township.

Two ways to write, both under the township's assignment lock:

* ``upsert_assignments``: COPY the rows into a temporary table, then one
  ``INSERT ... ON CONFLICT DO UPDATE`` that touches only rows whose values
  differ. Per-row foreign-key checks make it ~10 us a row: for partial runs,
  pins and test factories.
* ``replace_partition``: build the township's partition afresh (COPY into a
  new table, primary key, CHECK of the partition bound), drop the old one and
  ``ATTACH`` the new one, which validates the foreign keys in one bulk query.
  ~2.5 s for a million rows instead of ~36 s of row updates; all in the
  caller's transaction, so readers see the old or the new partition, never a mix.

Partition names and the ATTACH come from ``gis_service.core.partitions``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import CursorResult, text
from sqlalchemy.orm import Session

from gis_service.core import partitions
from gis_service.core.bulk import copy_columns, copy_frame

logger = logging.getLogger(__name__)

PARENT = "household_assignments"
COLUMNS = ("household_id", "grid_id", "cadre_id", "pinned", "reason", "assigned_at")
# What DETACH/DROP/ATTACH of a partition locks: the parent and the referenced tables
# (households also gets the scope keys the swap syncs, and passes them to parcels
# and disputes: row locks, taken after these).
SWAP_TABLES = (PARENT, "households", "grids", "cadres")
# columns the parent indexes for the row policies (0151)
POLICY_INDEXED = ("cadre_id", "grid_id")
LOCK = text("SELECT pg_advisory_xact_lock(hashtext('gridgis.assign:' || :t))")

_STAGE = (
    text("DROP TABLE IF EXISTS _assign_stage"),
    text(
        "CREATE TEMP TABLE _assign_stage (household_id bigint PRIMARY KEY,"
        " grid_id bigint, cadre_id bigint, pinned boolean, reason text)"
        " ON COMMIT DROP"
    ),
)
# Only rows whose values differ are written; assigned_at moves with grid/cadre.
_UPSERT = text(
    f"""
    INSERT INTO {PARENT} AS a
          (township_code, household_id, grid_id, cadre_id, pinned, reason)
    SELECT :t, s.household_id, s.grid_id, s.cadre_id, COALESCE(s.pinned, false),
           s.reason
    FROM _assign_stage s
    ON CONFLICT (township_code, household_id) DO UPDATE
       SET grid_id = EXCLUDED.grid_id, cadre_id = EXCLUDED.cadre_id,
           pinned = CASE WHEN CAST(:set_pinned AS boolean) THEN EXCLUDED.pinned
                         ELSE a.pinned END,
           reason = EXCLUDED.reason,
           assigned_at = CASE
               WHEN (a.grid_id, a.cadre_id)
                    IS DISTINCT FROM (EXCLUDED.grid_id, EXCLUDED.cadre_id)
               THEN now() ELSE a.assigned_at END
     WHERE (a.grid_id, a.cadre_id, a.reason)
               IS DISTINCT FROM (EXCLUDED.grid_id, EXCLUDED.cadre_id, EXCLUDED.reason)
        OR (CAST(:set_pinned AS boolean) AND a.pinned <> EXCLUDED.pinned)
    """
)


def partition_name(township: str) -> str:
    """The township's partition of household_assignments (12-digit code checked)."""
    return partitions.partition_name(PARENT, township)


def ensure_partition(session: Session, *, township: str) -> str:
    """Create the township's partition unless it exists; return its name."""
    name = partition_name(township)
    if not partition_exists(session, township=township):
        partitions.partition_ddl(session, "create", PARENT, township)
    return name


def partition_exists(session: Session, *, township: str) -> bool:
    """Whether the township's partition has been created."""
    return partitions.partition_exists(session, PARENT, township)


def drop_partition(session: Session, *, township: str) -> None:
    """Remove every assignment of a township at once (deleting the township)."""
    partitions.partition_ddl(session, "drop", PARENT, township)


def _ids(frame: pd.DataFrame, column: str) -> pd.Series:
    """A nullable id column (-1 or NaN: none)."""
    values = pd.Series(frame[column]).astype("Int64")
    return values.where(values >= 0)


def upsert_assignments(session: Session, *, township: str, rows: pd.DataFrame) -> int:
    """Insert or update these households' assignments; return rows written.

    ``rows``: household_id, grid_id, cadre_id (-1/NaN: none), optional reason and
    pinned (left as stored when absent). Refused by the foreign keys if an id
    is not of this township.
    """
    if rows.empty:
        return 0
    session.execute(LOCK, {"t": township})
    ensure_partition(session, township=township)
    for statement in _STAGE:
        session.execute(statement)
    set_pinned = "pinned" in rows
    stage = pd.DataFrame(
        {
            "household_id": rows["household_id"].astype("int64"),
            "grid_id": _ids(rows, "grid_id"),
            "cadre_id": _ids(rows, "cadre_id"),
            "pinned": rows["pinned"].astype(bool) if set_pinned else None,
            "reason": rows.get("reason"),
        }
    )
    copy_frame(session, "_assign_stage", stage)
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        _UPSERT, {"t": township, "set_pinned": set_pinned}
    )
    return int(result.rowcount)


def replace_partition(session: Session, *, township: str, rows: pd.DataFrame) -> int:
    """Swap in a new partition holding exactly ``rows`` (every household in it).

    ``rows``: household_id, grid_id, cadre_id (nullable Int64), pinned (bool),
    reason (text or None), assigned_at (int64 microseconds since 1970). Built
    with a binary COPY, then swapped, in the caller's transaction.
    """
    session.execute(LOCK, {"t": township})
    name = partition_name(township)
    fresh = f"{name}_next"
    for ddl in (
        f"DROP TABLE IF EXISTS {fresh}",
        f"CREATE TABLE {fresh} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING "
        "CONSTRAINTS)",
        # COPY leaves the constant column out; the default fills it in.
        f"ALTER TABLE {fresh} ALTER township_code SET DEFAULT '{township}'",
    ):
        session.execute(text(ddl))
    grid, cadre = (pd.array(rows[c], dtype="Int64") for c in ("grid_id", "cadre_id"))
    reason = rows["reason"].to_numpy(dtype=object)
    copy_columns(
        session,
        fresh,
        {
            "household_id": ("int8", rows["household_id"].to_numpy(), None),
            "grid_id": ("int8", grid.to_numpy(np.int64, na_value=0), grid.isna()),
            "cadre_id": ("int8", cadre.to_numpy(np.int64, na_value=0), cadre.isna()),
            "pinned": ("bool", rows["pinned"].to_numpy(dtype=bool), None),
            "reason": ("text", reason, pd.isna(reason)),
            "assigned_at": ("timestamptz", rows["assigned_at"].to_numpy(), None),
        },
        freeze=True,
    )
    for ddl in (
        f"ALTER TABLE {fresh} ALTER township_code DROP DEFAULT",
        f"ALTER TABLE {fresh} ADD CONSTRAINT {fresh}_pkey "
        "PRIMARY KEY (township_code, household_id)",
        # the parent's policy indexes (0151), built here and not by ATTACH
        # under the swap's locks: ATTACH adopts an equal index
        *(
            f"CREATE INDEX {fresh}_{column}_idx ON {fresh} ({column})"
            for column in POLICY_INDEXED
        ),
    ):
        session.execute(text(ddl))
    partitions.bound_check(session, PARENT, township, fresh)
    # Every lock the swap below takes, at once and without queueing into a
    # deadlock with readers (see partitions.lock_for_swap).
    partitions.lock_for_swap(session, SWAP_TABLES)
    # detach + drop the old partition, rename and attach the new one, then the
    # households' (parcels', disputes') scope keys follow it (migration 0160)
    partitions.swap(session, PARENT, township)
    logger.info("assignments of %s: partition rebuilt, %d rows", township, len(rows))
    return len(rows)


def assign_to(
    session: Session,
    *,
    township: str,
    household_ids: Sequence[int],
    grid_id: int | None,
    cadre_id: int | None,
    pinned: bool | None = None,
) -> int:
    """Put these households in one grid with one cadre (a manual assignment or pin).

    ``pinned`` None keeps each household's stored pin.
    """
    n = len(household_ids)
    rows = pd.DataFrame(
        {
            "household_id": list(household_ids),
            "grid_id": [grid_id if grid_id is not None else -1] * n,
            "cadre_id": [cadre_id if cadre_id is not None else -1] * n,
        }
    )
    if pinned is not None:
        rows["pinned"] = pinned
    return upsert_assignments(session, township=township, rows=rows)
