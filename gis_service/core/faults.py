"""Database faults as answers a client can act on: 503 + Retry-After, 507, retries.

A PostgreSQL that restarts, refuses connections, runs out of disk or cancels a
slow statement is not a bug of ours, so it must not be a 500: the client is told
to come back (``Retry-After``) or that the server has no room. Serialization
failures and deadlocks roll the whole transaction back, so the request is run
again a bounded number of times; a lost connection is retried once for reads.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import exc as sa_exc

from gis_service.core.errors import GridGISError, problem_response, unexpected

logger = logging.getLogger(__name__)

# SQLSTATEs: class 08 connection exceptions, 57P0x operator intervention.
_UNAVAILABLE = {"57P01", "57P02", "57P03", "53300", "53200", "58030"}
_CONFLICT = {"40001", "40P01"}
_NO_ROOM = {"53100", "53400"}  # disk_full, configuration_limit_exceeded (temp)
_TIMEOUT = {"57014", "55P03"}  # query_canceled (statement_timeout), lock timeout
CONFLICT_ATTEMPTS = 3
IDEMPOTENT = {"GET", "HEAD", "OPTIONS"}


class ServiceUnavailable(GridGISError):
    """The database cannot answer now; the client should retry after a while."""

    status = 503
    title = "Service unavailable"
    slug = "unavailable"

    def __init__(self, detail: str, *, retry_after: int = 5, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        """Retry-After in seconds."""
        return {"Retry-After": str(self.retry_after)}


class QueryTimeout(ServiceUnavailable):
    """A statement ran past its request class's time budget and was cancelled."""

    title = "Query timed out"
    slug = "timeout"


class InsufficientStorage(GridGISError):
    """The server has no disk or temp space left; nothing was written."""

    status = 507
    title = "Insufficient storage"
    slug = "insufficient-storage"


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a DBAPI error, wrapped by SQLAlchemy or not."""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "pgcode", None)
    return str(code) if code else None


def is_disconnect(exc: BaseException) -> bool:
    """A lost or refused connection (the server is down or restarting)."""
    code = sqlstate(exc)
    if code is not None:
        return code.startswith("08") or code in _UNAVAILABLE
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", exc)
    return type(orig).__name__ in ("OperationalError", "InterfaceError")


def is_conflict(exc: BaseException) -> bool:
    """A serialization failure or deadlock: the transaction was rolled back."""
    return sqlstate(exc) in _CONFLICT


def classify(exc: BaseException) -> GridGISError | None:
    """The client-facing error for a database fault, or None (a bug: 500)."""
    if isinstance(exc, sa_exc.TimeoutError):  # the connection pool is exhausted
        return ServiceUnavailable(
            "服务繁忙，请稍后重试 (all database connections are busy)", retry_after=2
        )
    if not isinstance(exc, sa_exc.DBAPIError) and sqlstate(exc) is None:
        return None
    code = sqlstate(exc)
    if code in _NO_ROOM:
        return InsufficientStorage(
            "服务器存储空间不足，未写入任何数据 (the database is out of disk or temp "
            "space; nothing was written)"
        )
    if code in _TIMEOUT:
        return QueryTimeout(
            "查询超时，请稍后重试或缩小范围 (the query exceeded its time limit)",
            retry_after=5,
        )
    if code in _CONFLICT:
        return ServiceUnavailable(
            "并发冲突，请重试 (a concurrent change conflicted; retry)", retry_after=1
        )
    if is_disconnect(exc):
        return ServiceUnavailable(
            "数据库暂不可用，请稍后重试 (the database is unavailable)", retry_after=5
        )
    return None


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _retrying(handler: Handler) -> Handler:
    """Run a route again after a conflict (bounded) or, for reads, a lost link."""

    async def run(request: Request) -> Response:
        plain_body = not request.headers.get("content-type", "").startswith(
            "multipart/"
        )  # an upload's stream is consumed by the first attempt
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return await handler(request)
            except (sa_exc.DBAPIError, sa_exc.TimeoutError) as exc:
                again = (is_conflict(exc) and plain_body) or (
                    attempt == 1
                    and request.method in IDEMPOTENT
                    and isinstance(exc, sa_exc.DBAPIError)
                    and is_disconnect(exc)
                )
                if not again or attempt == CONFLICT_ATTEMPTS:
                    raise
                logger.warning(
                    "%s %s: %s, attempt %d again",
                    request.method,
                    request.url.path,
                    sqlstate(exc) or "connection lost",
                    attempt + 1,
                )
                # a restarting server needs a moment; a conflict only jitter
                pause = 0.5 if is_disconnect(exc) else random.uniform(0.05, 0.2)
                await asyncio.sleep(pause * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    return run


def _retrying_builder(build: Callable[[], Handler]) -> Callable[[], Handler]:
    """``get_route_handler`` that returns the retrying wrapper of the handler."""

    def built() -> Handler:
        return _retrying(build())

    return built


def with_retries(router: APIRouter) -> APIRouter:
    """Wrap each route's handler of ``router`` in the bounded retry."""
    for route in router.routes:
        if isinstance(route, APIRoute) and not getattr(route, "_gridgis_retry", False):
            route.get_route_handler = _retrying_builder(  # type: ignore[method-assign]
                route.get_route_handler
            )
            route._gridgis_retry = True  # type: ignore[attr-defined]
    return router


async def database_fault(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler: a database fault as 503/507 problem+json, else a 500."""
    problem = classify(exc)
    if problem is None:
        return await unexpected(request, exc)
    logger.warning(
        "%s %s: database fault answered %d: %s",
        request.method,
        request.url.path,
        problem.status,
        str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__,
    )
    return problem_response(
        problem.status, problem.to_problem(str(request.url.path)), problem.headers()
    )


def install_fault_handlers(app: FastAPI) -> None:
    """Answer SQLAlchemy's and raw psycopg2 errors through ``database_fault``."""
    import psycopg2

    for fault in (sa_exc.DBAPIError, sa_exc.TimeoutError, psycopg2.Error):
        app.add_exception_handler(fault, database_fault)
