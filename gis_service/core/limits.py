"""Limits decided before any work: in-flight cap, body size, media type, JSON shape.

One ASGI middleware, outside FastAPI's routing, so a refused request costs
neither a worker thread, nor a database connection, nor its body in memory:

* more than ``max_inflight`` requests in progress -> 503 with ``Retry-After``;
* a declared ``Content-Length`` over the cap -> 413 before a byte is read, and a
  chunked body is counted as it streams (uploads: ``max_body_bytes``, JSON:
  ``max_json_bytes``);
* a body in a media type no route reads -> 415;
* JSON that does not parse, or an object with a key twice -> 400 (the last one
  silently winning hides client bugs).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gis_service.core.errors import PROBLEM_JSON, TYPE_BASE
from gis_service.core.settings import LimitSettings

_BODY_METHODS = {"POST", "PUT", "PATCH"}
# What some route reads: JSON everywhere, files by multipart, a day's visits as
# CSV, and the workbench's HTML forms.
_READABLE = (
    "application/json",
    "multipart/form-data",
    "text/csv",
    "application/x-www-form-urlencoded",
)
_UNQUEUED = ("/health",)  # monitors must get an answer even when saturated


class _DuplicateKey(ValueError):
    """A JSON object names the same key twice."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def json_problem(body: bytes) -> str | None:
    """Why ``body`` is not acceptable JSON, or None when it is."""
    try:
        json.loads(body, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        return f"JSON object has the key {exc.args[0]!r} more than once"
    except (ValueError, RecursionError) as exc:
        return f"malformed JSON: {str(exc)[:120]}"
    return None


async def send_problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    path: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer with problem+json straight from the middleware."""
    body = json.dumps(
        {
            "type": TYPE_BASE + title.lower().replace(" ", "-"),
            "title": title,
            "status": status,
            "detail": detail,
            "instance": path,
        },
        ensure_ascii=False,
    ).encode()
    raw = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class RequestGuard:
    """The checks above, in that order; everything else passes through untouched."""

    def __init__(self, app: ASGIApp, limits: LimitSettings) -> None:
        self.app = app
        self.limits = limits
        self.inflight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse what the limits refuse; count the request while it runs."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if self.inflight >= self.limits.max_inflight and path not in _UNQUEUED:
            await send_problem(
                send,
                503,
                "Service unavailable",
                "服务繁忙，请稍后重试 (too many requests in progress: "
                f"{self.inflight} of {self.limits.max_inflight})",
                path,
                {"Retry-After": "1"},
            )
            return
        self.inflight += 1
        try:
            await self._guarded(scope, receive, send, path)
        finally:
            self.inflight -= 1

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, path: str
    ) -> None:
        ctype = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        length_text = _header(scope, b"content-length")
        length = int(length_text) if length_text and length_text.isdigit() else None
        chunked = length is None and _header(scope, b"transfer-encoding") is not None
        has_body = (length or 0) > 0 or chunked
        upload = ctype.startswith("multipart/") or ctype == "text/csv"
        cap = self.limits.max_body_bytes if upload else self.limits.max_json_bytes
        if length is not None and length > cap:
            detail = f"request body of {length} bytes exceeds the limit of {cap} bytes"
            await send_problem(send, 413, "Content too large", detail, path)
            return
        if scope.get("method") not in _BODY_METHODS or not has_body:
            await self.app(scope, receive, send)
            return
        json_like = ctype == "application/json" or ctype.endswith("+json")
        if not (json_like or ctype in _READABLE):
            detail = (
                f"Content-Type {ctype or '(none)'!r} is not accepted; send "
                "application/json (multipart/form-data for file imports, text/csv "
                "for visit batches)"
            )
            await send_problem(send, 415, "Unsupported media type", detail, path)
            return
        if not json_like:  # files, CSV, forms: counted as they stream
            await RequestBodyLimitMiddleware(self.app, cap)(scope, receive, send)
            return
        await self._json(scope, receive, send, path, cap)

    async def _json(
        self, scope: Scope, receive: Receive, send: Send, path: str, cap: int
    ) -> None:
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                detail = f"request body exceeds the limit of {cap} bytes"
                await send_problem(send, 413, "Content too large", detail, path)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        problem = json_problem(body)
        if problem is not None:
            await send_problem(send, 400, "Bad request", problem, path)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
