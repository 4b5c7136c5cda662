"""Two imports of the same new codes: the second waits, then updates, never fails.

The upsert is an UPDATE of existing rows plus an INSERT of new ones (no ON
CONFLICT), so an advisory lock per layer and township serialises imports.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from gis_service.core.db import make_engine
from layers.io import first_load, staging
from layers.io.importing import import_file
from layers.io.specs import get_layer
from tests.factories import TOWNSHIP, make_township
from tests.layers.factories_layers import households_frame, write

_WAITING = text(
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


def _import_in_thread(
    engine: Any, township: str, path: Path
) -> tuple[threading.Thread, dict[str, Any]]:
    """Start importing ``path`` in a thread; return once it waits for a lock.

    ``outcome`` gets the import's ``report`` or its ``error``. The watcher is
    autocommit: pg_stat_activity is a snapshot held for a whole transaction.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        with Session(engine) as session:
            try:
                outcome["report"] = import_file(
                    session, township=township, layer="households", path=path
                )
            except Exception as exc:  # reported by the test, with its type
                outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
        deadline = time.monotonic() + 60
        while watcher.execute(_WAITING).scalar_one() == 0:
            assert thread.is_alive(), f"the import did not wait: {outcome!r}"
            assert time.monotonic() < deadline, "the import never waited"
            time.sleep(0.02)
    return thread, outcome


def test_second_import_waits_for_the_first_and_updates(
    scratch_url: URL, tmp_path: Path
) -> None:
    engine = make_engine(scratch_url.render_as_string(False))
    with Session(engine) as session:
        make_township(session)
    path = write(households_frame(2), tmp_path / "h.geojson")
    first = engine.connect()
    tx = first.begin()
    # An import in flight: it holds the lock and has inserted H1, uncommitted.
    first.execute(
        staging.IMPORT_LOCK, staging.import_lock(get_layer("households"), TOWNSHIP)
    )
    first.execute(
        text(
            "INSERT INTO households (township_code, code, head_name, members, geom) "
            "VALUES (:t, 'H1', 'x', 9, ST_SetSRID(ST_MakePoint(102.5, 37.1), 4326))"
        ),
        {"t": TOWNSHIP},
    )
    thread, outcome = _import_in_thread(engine, TOWNSHIP, path)
    tx.commit()
    first.close()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the second import did not finish"
    assert "error" not in outcome, repr(outcome.get("error"))
    report = outcome["report"]
    assert (report["inserted"], report["updated"], report["unchanged"]) == (1, 1, 0)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, members FROM households ORDER BY code"))
        assert [tuple(r) for r in rows] == [("H1", 1), ("H2", 2)]
    engine.dispose()


def test_two_first_loads_take_turns_instead_of_deadlocking(
    scratch_url: URL, tmp_path: Path
) -> None:
    """A first load in flight (it has read households and is about to ATTACH)
    and a second one for another township: the second waits, both succeed.

    Without the turn-taking, the second would hold the parent while waiting
    for the default partition the first still reads, and the first's ATTACH
    would then wait for the parent: a deadlock, one import failing.
    """
    other = "620623102000"
    engine = make_engine(scratch_url.render_as_string(False))
    with Session(engine) as session:
        make_township(session)
        make_township(session, other, "别的镇")
    path = write(households_frame(2), tmp_path / "h.geojson")
    first = engine.connect()
    tx = first.begin()
    first.execute(first_load.FIRST_LOAD_LOCK)
    first.execute(
        text("SELECT EXISTS (SELECT 1 FROM households WHERE township_code = :t)"),
        {"t": other},
    )
    thread, outcome = _import_in_thread(engine, TOWNSHIP, path)
    name = f"households_{other}"
    first.execute(text(f"CREATE TABLE {name} (LIKE households INCLUDING ALL)"))
    first.execute(
        text(
            f"ALTER TABLE households ATTACH PARTITION {name} FOR VALUES IN ('{other}')"
        )
    )
    tx.commit()
    first.close()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the second load did not finish"
    assert "error" not in outcome, repr(outcome.get("error"))
    assert outcome["report"]["inserted"] == 2
    with engine.connect() as conn:
        attached = conn.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c "
                "ON c.oid = i.inhrelid WHERE i.inhparent = 'households'::regclass "
                "ORDER BY 1"
            )
        ).scalars()
        assert list(attached) == [f"households_{TOWNSHIP}", name, "households_default"]
    engine.dispose()


def test_a_first_load_backs_off_instead_of_deadlocking_with_a_reader(
    scratch_url: URL, tmp_path: Path
) -> None:
    """A transaction has read households_default and will next want the parent
    (as a grids import's assignment does); a first load's ATTACH waits for the
    default partition. The first load gives up its ATTACH, inserts the ordinary
    way, and both finish: no deadlock, no 500."""
    other = "620623102000"
    engine = make_engine(scratch_url.render_as_string(False))
    with Session(engine) as session:
        make_township(session)
        make_township(session, other, "别的镇")
        session.execute(
            text(
                "INSERT INTO households (township_code, code, head_name, geom) VALUES "
                "(:t, 'OLD', 'x', ST_SetSRID(ST_MakePoint(102.4, 37.0), 4326))"
            ),
            {"t": other},
        )
        session.commit()
    path = write(households_frame(2), tmp_path / "h.geojson")
    reader = engine.connect()
    tx = reader.begin()
    reader.execute(
        text("SELECT count(*) FROM households WHERE township_code = :t"), {"t": other}
    )
    thread, outcome = _import_in_thread(engine, TOWNSHIP, path)
    reader.execute(text("LOCK TABLE households IN SHARE ROW EXCLUSIVE MODE"))
    tx.commit()
    reader.close()
    thread.join(timeout=60)
    assert "error" not in outcome, repr(outcome.get("error"))
    assert outcome["report"]["inserted"] == 2
    with engine.connect() as conn:
        where = conn.execute(
            text(
                "SELECT DISTINCT tableoid::regclass::text FROM households "
                "WHERE township_code = :t"
            ),
            {"t": TOWNSHIP},
        ).scalars()
        assert list(where) == ["households_default"]
        leftover = conn.execute(
            text("SELECT to_regclass(:n)"), {"n": f"households_{TOWNSHIP}"}
        )
        assert leftover.scalar() is None
    engine.dispose()
