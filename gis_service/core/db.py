"""Declarative base, engine factory and the one way to get a session."""

from __future__ import annotations

import select
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

from anyio import CancelScope
from fastapi import Request
from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction
from sqlalchemy.pool import ConnectionPoolEntry
from starlette.concurrency import run_in_threadpool

from gis_service.core import pending

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every ORM model; constraint names follow NAMING_CONVENTION."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


_DEPTH = "gridgis_atomic_depth"
# session.info key: a request's session on the service login (gridgis_service),
# which reads nothing until it takes a scope or the system role
SERVICE_SESSION = "gridgis_service_session"
# session.info key: the owner's URL, for the job workers a request queues work for
OWNER_URL = "gridgis_owner_url"


# PostGIS functions carry high planner costs, so a township's statements crossed
# jit_above_cost and PostgreSQL spent ~0.9 s compiling each (an uncovered list
# that runs in 0.07 s took 1.3 s; among 40 townships the estimates, and so the
# JIT, differed from one township alone: 6.4x). No statement here gains from JIT.
SESSION_OPTIONS = "-c jit=off"


def make_engine(url: str, *, echo: bool = False, **kwargs: Any) -> Engine:
    """An engine that checks a pooled connection is alive, JIT off (SESSION_OPTIONS).

    The embedded cluster may have been restarted: see ``_check_at_checkout``.
    """
    connect_args = dict(kwargs.pop("connect_args", None) or {})
    given = connect_args.get("options") or make_url(url).query.get("options") or ""
    connect_args["options"] = f"{given} {SESSION_OPTIONS}".strip()
    engine = create_engine(url, echo=echo, connect_args=connect_args, **kwargs)
    _check_at_checkout(engine)
    return engine


# A pooled connection used within this many seconds is pinged only when its
# socket has something to read; one idle longer is pinged (SELECT 1) as before.
PING_IDLE_S = 1.0
_LAST_USED = "gridgis_last_used"  # pool entry info key: monotonic seconds


def _check_at_checkout(engine: Engine) -> None:
    """Ping a pooled connection at checkout only when it may be dead.

    SQLAlchemy's pre-ping was a round trip (SELECT 1) on every
    checkout, i.e. every request. A server that shuts down or terminates a
    backend (a restart, ``pg_terminate_backend``, an idle timeout) sends its
    reason and closes the socket, so an idle connection with something to read is
    suspect and gets the real ping; so does one idle longer than ``PING_IDLE_S``
    (a peer that vanished without closing). A failed ping raises
    DisconnectionError: the pool replaces the connection and tries again, as with
    pre-ping. A connection that died silently less than a second ago fails its
    first statement instead (a 503, a read retried: ``core.faults``).
    """
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _used(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(
        dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any
    ) -> None:
        last = record.info.get(_LAST_USED)
        if (
            last is not None
            and time.monotonic() - last < PING_IDLE_S
            and _quiet(dbapi_connection)
        ):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(str(error)) from error


def _quiet(dbapi_connection: Any) -> bool:
    """Whether an idle connection's socket has nothing to read (nor hung up)."""
    fileno = getattr(dbapi_connection, "fileno", None)
    if fileno is None or getattr(dbapi_connection, "closed", False):
        return False
    poller = select.poll()
    poller.register(fileno(), select.POLLIN | select.POLLPRI)
    return not poller.poll(0)  # errors and hang-ups are always reported


# Long-running request classes: whole-file imports, detection and assignment runs.
_LONG = ("/import", "/detect", "/assignment/run", "/grids/redraw")


def statement_budget(request: Request) -> float:
    """Seconds a statement of this request may run (its request class's budget)."""
    budgets = request.app.state.settings.db
    path = request.url.path
    if request.method in ("GET", "HEAD") and not path.endswith("/export"):
        return float(budgets.read_timeout_s)
    if any(path.endswith(tail) for tail in _LONG) or path.endswith("/export"):
        return float(budgets.import_timeout_s)
    return float(budgets.write_timeout_s)


# Transaction-local settings each transaction a session begins starts with (a
# request's time budget here; its scope's role and settings from core.auth.scope),
# all sent with the transaction's first statement (core.pending): each was a round
# trip of its own per request.
BeginSettings = Callable[[Session], Mapping[str, str]]
_AT_BEGIN: list[BeginSettings] = []
STATEMENT_TIMEOUT = "gridgis_statement_timeout_ms"  # session.info key
PARALLEL_WORKERS = "gridgis_parallel_workers"  # session.info key


def at_begin(provider: BeginSettings) -> BeginSettings:
    """Register settings (name -> value) for every transaction a session begins."""
    _AT_BEGIN.append(provider)
    return provider


@at_begin
def _budget(session: Session) -> Mapping[str, str]:
    settings: dict[str, str] = {}
    timeout_ms = session.info.get(STATEMENT_TIMEOUT)
    if timeout_ms is not None:
        settings["statement_timeout"] = str(int(timeout_ms))
    workers = session.info.get(PARALLEL_WORKERS)
    if workers is not None:  # a read's (DatabaseSettings.read_parallel_workers)
        settings["max_parallel_workers_per_gather"] = str(int(workers))
    return settings


@event.listens_for(Session, "after_begin")
def _settings_at_begin(
    session: Session, _t: SessionTransaction, conn: Connection
) -> None:
    # sent with the transaction's first statement, in its round trip
    pending.defer(conn, _begin_settings(session))


def _begin_settings(session: Session) -> dict[str, str]:
    settings: dict[str, str] = {}
    for provider in _AT_BEGIN:
        settings.update(provider(session))
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """FastAPI dependency: one session per request (a replica's for plain reads).

    Every transaction it begins gets the request class's ``statement_timeout``
    (transaction-local), so a runaway query is cancelled (a 503) and its
    connection goes back to the pool instead of holding it.

    ``async``: a session connects at its first statement (in the thread that
    runs it), so only closing it (the rollback, the connection back to the
    pool) takes a thread-pool hop; as a plain generator it took two.
    """
    info: dict[str, Any] = {
        SERVICE_SESSION: True,
        STATEMENT_TIMEOUT: int(statement_budget(request) * 1000),
    }
    workers = request.app.state.settings.db.read_parallel_workers
    if request.method in ("GET", "HEAD") and workers is not None:
        info[PARALLEL_WORKERS] = int(workers)
    owner: Engine | None = getattr(request.app.state, "owner_engine", None)
    if owner is not None:
        info[OWNER_URL] = owner.url.render_as_string(hide_password=False)
    router = getattr(request.app.state, "read_router", None)
    with ExitStack() as stack:
        if router is None:
            session = Session(request.app.state.engine, info=info)
        else:  # read replicas: a plain read may be served by one of them
            conn = await run_in_threadpool(stack.enter_context, router.connect(request))
            session = Session(bind=conn, info=info)
        try:
            yield session
        finally:
            # shielded: a cancelled request's connection still goes back
            with CancelScope(shield=True):
                await run_in_threadpool(_close, session, stack.pop_all())


def _close(session: Session, stack: ExitStack) -> None:
    with stack:
        session.close()


def owner_engine(state: Any) -> Engine:
    """The owner's engine of an app's state (a test's injected engine serves both)."""
    engine: Engine = getattr(state, "owner_engine", None) or state.engine
    return engine


@contextmanager
def atomic(session: Session) -> Iterator[Session]:
    """One all-or-nothing unit of work that survives nesting.

    The outermost ``atomic`` commits on success and rolls back on any error; an
    inner one (a service called by another service, e.g. an import's assignment
    hook) is a SAVEPOINT, so only the outermost commits and a failure anywhere
    undoes the whole unit. Works whether or not the session already began a
    transaction (a dependency may have read from it), which ``session.begin()``
    would refuse.
    """
    depth: int = session.info.get(_DEPTH, 0)
    session.info[_DEPTH] = depth + 1
    try:
        if depth:
            with session.begin_nested():
                yield session
            return
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
    finally:
        session.info[_DEPTH] = depth


@contextmanager
def committed_at_once(session: Session) -> Iterator[None]:
    """Statements in here end their own transaction; the session's next begins anew.

    Sign-in reads the user's row and scope (users, grids, cadres) before the
    handler runs, and a request waits between the two for the thread pool. In
    the session's transaction that wait held the read's locks, and a partition
    swap (ACCESS EXCLUSIVE on grids and cadres) kept timing out behind readers
    idle in transaction. With psycopg2 on a fresh connection the statements run
    in autocommit, each with the waiting settings (``pending.every_statement``)
    in one implicit transaction: no BEGIN or COMMIT, so no round trip added, and
    its locks end with it. The settings a transaction begins with then wait for
    the next statement, which psycopg2 opens with BEGIN. Elsewhere (a session
    bound to an outer transaction, another driver) nothing changes.
    """
    conn = session.connection()
    raw = conn.connection.dbapi_connection
    extensions = getattr(conn.dialect.loaded_dbapi, "extensions", None)
    idle = getattr(extensions, "TRANSACTION_STATUS_IDLE", None)
    if (
        conn.dialect.driver != "psycopg2"
        or raw is None
        or raw.info.transaction_status != idle
    ):
        yield
        return
    raw.autocommit = True
    try:
        with pending.every_statement(conn):
            yield
    finally:
        if not raw.closed:
            raw.autocommit = False
            if not conn.invalidated:
                pending.defer(conn, _begin_settings(session))


def end_reads(session: Session) -> None:
    """End a request's read-only transaction before long work on what it read.

    A map page renders for a few hundred ms after its last statement (seconds
    when threads share the GIL); in the transaction that time held the reads'
    locks, and a partition swap kept timing out behind pages rendering. Rolled
    back (it only read); a later statement begins a new transaction under the
    same scope. A session bound to an outer connection (a test's, a replica's)
    is left as it is: its transaction is not the request's to end.
    """
    if session.in_transaction() and not isinstance(session.bind, Connection):
        session.rollback()


def gdal_connection(url: str) -> str:
    """The URL as GDAL/QGIS's ``PG:`` connection string (``ogrinfo`` opens it)."""
    parsed = make_url(url)
    parts = {
        "dbname": parsed.database,
        "host": parsed.host or parsed.query.get("host"),
        "port": parsed.port or parsed.query.get("port"),
        "user": parsed.username,
        "password": parsed.password,
    }
    words = []
    for key, value in parts.items():
        if isinstance(value, tuple):  # a repeated query parameter: the first
            value = value[0] if value else None
        if value is None or value == "":
            continue
        text = str(value).replace("\\", "\\\\").replace("'", "\\'")
        words.append(f"{key}='{text}'" if " " in text or not text else f"{key}={text}")
    return "PG:" + " ".join(words)
