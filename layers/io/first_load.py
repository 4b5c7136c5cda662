"""A township's first households: COPY them into a partition of their own.

Inserting 100 000 households into the indexed ``households`` table maintains
the primary key, the unique code key and the GIST index row by row (~1.1 s);
COPYing them into a bare table and building the three indexes once takes
~0.45 s. So when a township has no households yet, the validated rows go by
binary COPY straight into a new table ``households_<code>`` (no staging table:
a first load has no stored row to compare with or keep values from), which is
then ATTACHed as the township's partition (``gis_service.core.partitions``), in the
import's transaction.

The rows are the ones the staging INSERT would write: a masked personal value
keeps nothing (there is no stored row) and stays NULL, a blank cell of a field
with a default gets the layer's default, and a field the file lacks gets the
column default (equal to the layer's; a test holds them together).

ATTACH scans ``households_default`` (townships loaded by other means: the demo)
to prove it holds no row of this township and keeps it locked until commit, so
readers of default-partition townships wait for the import (its assignment run
included); townships with their own partition are not held up. First loads take
turns (``FIRST_LOAD_LOCK``); an ATTACH that cannot get the default partition
within ``ATTACH_WAIT`` backs off and the rows go in the ordinary way.
"""

from __future__ import annotations

import logging
import re

import pandas as pd
from psycopg2.errors import DeadlockDetected, LockNotAvailable
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gis_service.core import partitions
from gis_service.core.bulk import copy_frame
from layers.io import staging
from layers.io.specs import LayerSpec
from layers.io.validation import Prepared

logger = logging.getLogger(__name__)

PARENT = "households"
ATTACH_WAIT = "500ms"  # below deadlock_timeout (1 s): this side backs off first
_LOCK_TIMEOUT = text("SELECT current_setting('lock_timeout')")
_SET_LOCK_TIMEOUT = text("SELECT set_config('lock_timeout', :v, true)")
_SEQUENCE = text(f"SELECT pg_get_serial_sequence('{PARENT}', 'id')")
FIRST_LOAD_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('gridgis.first_load'))")
SCOPE_KEYS = ("grid_id", "cadre_id")  # copied from the assignment (migration 0160)
_HAS_ROWS = text("SELECT EXISTS (SELECT 1 FROM households WHERE township_code = :t)")


def applies(
    session: Session, *, township: str, spec: LayerSpec, present: frozenset[str]
) -> bool:
    """A households import into a township that has none, needing no SQL checks.

    (For households the only SQL check is a required column the file lacks,
    which rejects every new feature: the ordinary path reports it.)
    """
    if spec.table != PARENT or spec.computed or staging.checks(spec, present):
        return False
    if partitions.partition_exists(session, PARENT, township):
        return False
    # Before touching households: two first loads that both read the default
    # partition and then ATTACH would deadlock (each ATTACH wants the default
    # partition exclusively while the other still reads it).
    session.execute(FIRST_LOAD_LOCK)
    return not session.execute(_HAS_ROWS, {"t": township}).scalar()


def load(
    session: Session, *, township: str, spec: LayerSpec, prepared: Prepared
) -> int:
    """COPY the prepared rows into the township's new partition; the count."""
    present = set(prepared.present)
    rows = prepared.rows
    frame = pd.DataFrame({"township_code": township, spec.key: rows[spec.key]})
    blanks = []
    for f in spec.writable:
        if f.name not in present:
            continue  # the column default, as the INSERT's COALESCE(NULL, default)
        values = rows[f.name]  # a masked personal value is None already
        if f.default is not None and values.isna().any():
            blanks.append(f)
        frame[f.name] = values
    frame[spec.geometry_column] = rows["geom"]
    name = _begin(session, township=township)
    for f in blanks:  # NULL for a moment, then the default
        session.execute(text(f"ALTER TABLE {name} ALTER {f.name} DROP NOT NULL"))
    copy_frame(session, name, frame, column_srid=True)
    for f in blanks:
        column = f.name
        session.execute(
            text(f"UPDATE {name} SET {column} = {f.default} WHERE {column} IS NULL")
        )
        session.execute(text(f"ALTER TABLE {name} ALTER {column} SET NOT NULL"))
    _finish(session, township=township)
    return len(frame)


def _begin(session: Session, *, township: str) -> str:
    """Create the bare table the rows go into; return its name."""
    name = partitions.partition_name(PARENT, township)
    # The parent's identity sequence numbers the rows, as an insert would. Named
    # as a literal: pg_get_serial_sequence() in the default ran once per row.
    sequence = session.execute(_SEQUENCE).scalar_one()
    if not re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", sequence):
        raise RuntimeError(f"unexpected identity sequence {sequence!r}")
    for ddl in (
        f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
        f"ALTER TABLE {name} ALTER id SET DEFAULT nextval('{sequence}'::regclass)",
    ):
        session.execute(text(ddl))
    return name


def _finish(session: Session, *, township: str) -> None:
    """Build the keys and the GIST index in bulk and attach the partition."""
    name = partitions.partition_name(PARENT, township)
    for ddl in (
        f"ALTER TABLE {name} ALTER id DROP DEFAULT",
        f"ALTER TABLE {name} ADD CONSTRAINT {name}_pkey "
        "PRIMARY KEY (township_code, id)",
        f"ALTER TABLE {name} ADD CONSTRAINT {name}_code_key "
        "UNIQUE (township_code, code)",
        f"CREATE INDEX {name}_geom_idx ON {name} USING gist (geom)",
        # the parent's scope-key indexes (0160), built here, not by ATTACH
        *(
            f"CREATE INDEX {name}_{column}_township_code_idx ON {name} "
            f"({column}, township_code)"
            for column in SCOPE_KEYS
        ),
    ):
        session.execute(text(ddl))
    partitions.bound_check(session, PARENT, township, name)
    # ATTACH wants households_default exclusively. A transaction that has read
    # it may next want the parent lock ATTACH holds: rather than wait into a
    # deadlock (one side's 500), give up after ATTACH_WAIT and move the rows
    # into the parent the ordinary way (they land in households_default).
    savepoint = session.begin_nested()
    try:
        previous = session.execute(_LOCK_TIMEOUT).scalar_one()
        session.execute(_SET_LOCK_TIMEOUT, {"v": ATTACH_WAIT})
        # No ANALYZE (~0.17 s per 100 000 rows): the index builds have set the
        # row count the planner needs, and autovacuum gathers column statistics.
        partitions.attach(session, PARENT, township, analyze=False)
        session.execute(_SET_LOCK_TIMEOUT, {"v": previous})
        savepoint.commit()
    except OperationalError as exc:
        if not isinstance(exc.orig, LockNotAvailable | DeadlockDetected):
            raise
        savepoint.rollback()
        logger.warning("first load of %s: ATTACH had to wait; ordinary insert", name)
        session.execute(text(f"INSERT INTO {PARENT} SELECT * FROM {name}"))
        session.execute(text(f"DROP TABLE {name}"))
