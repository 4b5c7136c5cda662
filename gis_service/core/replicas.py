"""Reads on streaming replicas, writes and fresh reads on the primary.

A GET or HEAD goes to a replica (round robin) unless the caller wrote within the
last few seconds (the ``gridgis_wrote`` cookie set after every successful write, so
a user sees their own writes although replicas lag), or asks for personal data
(``unmask``: that read is audited, and the audit row is a write). A replica that
does not answer is left out for a while and the read goes to the next one or to
the primary: a replica outage slows reads, it never fails them.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

logger = logging.getLogger(__name__)

WROTE_COOKIE = "gridgis_wrote"
READ_YOUR_WRITES_S = 10  # longer than a healthy replica's lag
DOWN_FOR_S = 30.0  # a replica that failed is not tried again for this long
READ_METHODS = frozenset({"GET", "HEAD"})


class ReadRouter:
    """Picks the connection for a request: a live replica for plain reads."""

    def __init__(self, primary: Engine, replicas: list[Engine]) -> None:
        self.primary = primary
        self.replicas = replicas
        self._turn = itertools.cycle(range(len(replicas))) if replicas else None
        self._down_until = [0.0] * len(replicas)
        self._lock = threading.Lock()

    def wants_primary(self, request: HTTPConnection) -> bool:
        """Writes, reads right after a write, and audited (unmasked) reads."""
        if not self.replicas or request.scope.get("method") not in READ_METHODS:
            return True
        if "unmask" in request.query_params:
            return True
        if "respond-async" in request.headers.get("prefer", "").lower():
            return True  # queuing a job writes its row
        wrote = request.cookies.get(WROTE_COOKIE, "")
        try:
            return time.time() - float(wrote) < READ_YOUR_WRITES_S
        except ValueError:
            return False

    @contextmanager
    def connect(self, request: HTTPConnection) -> Iterator[Connection]:
        """A connection for this request, failing over from replicas to the primary."""
        if not self.wants_primary(request):
            for index in self._order():
                try:
                    conn = self.replicas[index].connect()
                except DBAPIError as exc:
                    self._mark_down(index, exc)
                    continue
                with conn:
                    yield conn
                return
        with self.primary.connect() as conn:
            yield conn

    def _order(self) -> list[int]:
        """Live replicas, starting with the next in turn."""
        if self._turn is None:
            return []
        with self._lock:
            start = next(self._turn)
        now = time.monotonic()
        count = len(self.replicas)
        return [
            i
            for i in ((start + k) % count for k in range(count))
            if self._down_until[i] <= now
        ]

    def _mark_down(self, index: int, exc: Exception) -> None:
        url = self.replicas[index].url.render_as_string(hide_password=True)
        logger.warning("read replica %s is down (%s): reads go elsewhere", url, exc)
        self._down_until[index] = time.monotonic() + DOWN_FOR_S

    def status(self) -> list[dict[str, object]]:
        """Each replica's URL (password hidden) and whether it is in use."""
        now = time.monotonic()
        return [
            {
                "url": engine.url.render_as_string(hide_password=True),
                "in_use": self._down_until[i] <= now,
            }
            for i, engine in enumerate(self.replicas)
        ]


async def remember_writes(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Middleware: after a successful write, this client reads the primary a while."""
    response = await call_next(request)
    if request.method not in READ_METHODS and response.status_code < 400:
        response.set_cookie(
            WROTE_COOKIE,
            f"{time.time():.3f}",
            max_age=READ_YOUR_WRITES_S,
            httponly=True,
            samesite="lax",
        )
    return response
