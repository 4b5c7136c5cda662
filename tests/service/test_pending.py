"""Settings sent with the next statement, and the pool's checkout check."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from gis_service.core import pending
from gis_service.core.db import make_engine
from gis_service.core.prepared import execute as execute_prepared
from gis_service.core.prepared import prepare

_SEEN = text("SELECT current_setting('gridgis.username', true)")


def test_settings_go_with_the_next_statement_and_end_with_the_transaction(
    engine: Engine,
) -> None:
    with engine.connect() as conn:
        pending.defer(conn, {"gridgis.username": "甲%s'; --", "gridgis.role": "x"})
        pending.defer(conn, {"gridgis.role": "cadre"})  # the later value wins
        assert pending.pending(conn) == {"gridgis.username": "甲%s'; --",
                                         "gridgis.role": "cadre"}  # fmt: skip
        # a bound parameter and a literal '%' in the same statement
        row = conn.execute(
            text("SELECT current_setting('gridgis.username', true), "
                 "current_setting('gridgis.role', true), :p, '5%'"), {"p": "%"},
        ).one()  # fmt: skip
        assert tuple(row) == ("甲%s'; --", "cadre", "%", "5%")
        assert not pending.pending(conn)
        pending.defer(conn, {"gridgis.username": "never sent"})
        conn.rollback()  # nothing followed: dropped, never in another transaction
        assert not pending.pending(conn)
        assert conn.execute(_SEEN).scalar() in ("", None)


def test_settings_before_a_statement_without_parameters_and_a_prepare(
    engine: Engine,
) -> None:
    statement = text("SELECT '50%' LIKE '5%', current_setting('gridgis.username')")
    prepared = prepare(statement, engine.dialect)
    with engine.connect() as conn:
        pending.defer(conn, {"gridgis.username": "a%b"})
        # the PREPARE goes without parameters (psycopg2 leaves '%' alone)
        assert tuple(execute_prepared(conn, prepared, {}).one()) == (True, "a%b")


def test_statement_timeout_sent_with_the_statement_applies_to_it(
    engine: Engine,
) -> None:
    with engine.connect() as conn:
        pending.defer(conn, {"statement_timeout": "50"})
        started = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout"):
            conn.execute(text("SELECT pg_sleep(2)"))
        assert time.monotonic() - started < 1.5


def test_executemany_and_copy_get_the_settings_first(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("CREATE TEMP TABLE seen (v text, who text)"))
        pending.defer(conn, {"gridgis.username": "many"})
        conn.execute(
            text("INSERT INTO seen VALUES (:v, current_setting('gridgis.username'))"),
            [{"v": "1"}, {"v": "2"}],
        )
        pending.defer(conn, {"gridgis.username": "streamed"})
        streamed = conn.execution_options(stream_results=True).execute(_SEEN)
        assert streamed.scalar() == "streamed"  # a server-side cursor
        pending.defer(conn, {"gridgis.username": "copied"})
        raw = pending.dbapi_connection(conn)
        with raw.cursor() as cursor:
            cursor.execute(
                "INSERT INTO seen VALUES ('3', current_setting('gridgis.username'))"
            )
        rows = conn.execute(text("SELECT v, who FROM seen ORDER BY v")).all()
        assert [tuple(r) for r in rows] == [
            ("1", "many"), ("2", "many"), ("3", "copied"),
        ]  # fmt: skip
        conn.rollback()


def test_checkout_pings_only_a_suspect_connection(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection used just now is not pinged; one the server ended is replaced."""
    mine = make_engine(engine.url.render_as_string(hide_password=False))
    pings: list[int] = []
    ping = mine.dialect.do_ping
    monkeypatch.setattr(mine.dialect, "do_ping", lambda c: pings.append(1) or ping(c))
    try:
        with mine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with mine.connect() as conn:  # used a moment ago, socket quiet: no ping
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() == pid
        assert pings == []
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        time.sleep(0.2)  # the server's goodbye reaches the socket
        with mine.connect() as conn:  # suspect: pinged, replaced, no error
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
        assert pings == [1]
    finally:
        mine.dispose()
