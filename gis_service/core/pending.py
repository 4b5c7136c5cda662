"""Transaction-local settings sent in the same round trip as the next statement.

A request's transaction sets its statement timeout, role and scope (``core.db``'s
``at_begin``, ``core.auth.scope``) before its first statement, and sign-in sets the
scope again after reading the user: each was a round trip of its own, and a map
tile was mostly round trips. With psycopg2 the settings wait on the connection and
go to PostgreSQL as ``SELECT set_config(...); <statement>`` in one simple-query
message when the next statement runs. PostgreSQL runs the two in order inside the
transaction psycopg2 began, so the statement runs under exactly the settings it
had when they came first on their own (a ``statement_timeout`` set by the first
applies to the second: PostgreSQL arms the timer per statement).

Settings no statement follows are dropped when the transaction ends, as
PostgreSQL would drop them (they are transaction-local): they never reach another
transaction. Code that uses the DBAPI connection directly (COPY) calls ``flush``
first. Other drivers run the settings at once, as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import ExecutionContext
from sqlalchemy.pool import ConnectionPoolEntry, Pool

_PENDING = "gridgis_pending_settings"  # DBAPI connection info key
_STICKY = "gridgis_pending_sticky"  # info key: settings go with every statement


@cache
def _set_configs(count: int) -> str:
    """``SELECT set_config(%s, %s, true), ...`` for ``count`` settings (pyformat)."""
    return "SELECT " + ", ".join(["set_config(%s, %s, true)"] * count)


def _flat(settings: Mapping[str, str]) -> list[str]:
    return [part for item in settings.items() for part in item]


def defer(conn: Connection, settings: Mapping[str, str]) -> None:
    """Set ``settings`` (transaction-local) with ``conn``'s next statement.

    A later value of a name replaces an earlier one: nothing ran in between.
    """
    if not settings:
        return
    if not conn.in_transaction():  # as a statement would: they belong to one
        conn.begin()
    if conn.dialect.driver != "psycopg2":  # no client-side binding: at once
        count = range(len(settings))
        calls = ", ".join(f"set_config(:k{i}, :v{i}, true)" for i in count)
        values = {}
        for i, (name, value) in enumerate(settings.items()):
            values[f"k{i}"], values[f"v{i}"] = name, value
        conn.execute(text(f"SELECT {calls}"), values)
        return
    waiting: dict[str, str] = conn.info.setdefault(_PENDING, {})
    waiting.update(settings)


def pending(conn: Connection) -> Mapping[str, str]:
    """The settings waiting for ``conn``'s next statement."""
    waiting: Mapping[str, str] = conn.info.get(_PENDING) or {}
    return waiting


def flush(conn: Connection) -> None:
    """Send the waiting settings now (before using the DBAPI connection directly)."""
    waiting = conn.info.pop(_PENDING, None)
    if waiting:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(_set_configs(len(waiting)), _flat(waiting))
        finally:
            cursor.close()


@event.listens_for(Engine, "before_cursor_execute", retval=True)
def _prepend(
    conn: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: ExecutionContext | None,
    executemany: bool,
) -> tuple[str, Any]:
    """Put the waiting settings in front of the statement (one round trip)."""
    info = conn.info
    if _PENDING not in info:
        return statement, parameters
    waiting = info[_PENDING] if info.get(_STICKY) else info.pop(_PENDING)
    if executemany or getattr(cursor, "name", None):
        # one message per row, or a server-side cursor (psycopg2 would DECLARE
        # the settings' SELECT): the settings go first, on their own
        with cursor.connection.cursor() as plain:
            plain.execute(_set_configs(len(waiting)), _flat(waiting))
        return statement, parameters
    prefix = cursor.mogrify(_set_configs(len(waiting)), _flat(waiting)).decode()
    # psycopg2 formats the statement (a literal % must then be %%) unless
    # SQLAlchemy runs it with no parameters at all (Connection._exec_single_context)
    no_parameters = context is not None and getattr(context, "no_parameters", False)
    if parameters or not no_parameters:
        prefix = prefix.replace("%", "%%")
    return f"{prefix}; {statement}", parameters


@event.listens_for(Engine, "begin")
@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _drop(conn: Connection, *_: Any) -> None:
    """A transaction's settings end with it (a new one starts with none waiting).

    An invalidated connection has no DBAPI connection to look at: the pool's
    ``invalidate`` dropped what waited on it.
    """
    if not conn.invalidated:
        conn.info.pop(_PENDING, None)


@event.listens_for(Pool, "checkin")
@event.listens_for(Pool, "invalidate")
@event.listens_for(Pool, "soft_invalidate")
def _drop_entry(_dbapi: Any, record: ConnectionPoolEntry | None, *_: Any) -> None:
    """Nothing waits on a connection back in the pool (or thrown away)."""
    if record is not None:
        record.info.pop(_PENDING, None)


@contextmanager
def every_statement(conn: Connection) -> Iterator[None]:
    """The waiting settings go with every statement in here, not only the next.

    For statements in autocommit (``core.db.committed_at_once``): each is a
    transaction of its own, so each needs them (a first use's PREPARE, then its
    EXECUTE). Whatever still waits is dropped at the end.
    """
    conn.info[_STICKY] = True
    try:
        yield
    finally:
        conn.info.pop(_STICKY, None)
        conn.info.pop(_PENDING, None)


def dbapi_connection(conn: Connection) -> Any:
    """``conn``'s DBAPI connection, its waiting settings sent (for COPY)."""
    flush(conn)
    return conn.connection.dbapi_connection


@event.listens_for(Pool, "reset")
def _drop_at_reset(
    dbapi_connection: Any, connection_record: ConnectionPoolEntry, reset_state: Any
) -> None:
    """Nothing waits on a connection the pool has rolled back."""
    _drop_entry(dbapi_connection, connection_record)
