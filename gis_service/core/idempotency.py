"""``Idempotency-Key`` on POST: a retry gets the first answer and writes nothing.

One ASGI middleware for every POST (visits, demands, transitions, imports,
detection runs ...), not per route. The key is claimed in PostgreSQL
(``idempotency_keys``) before the request runs, so two workers or two racing
retries cannot both run it; the answer is stored with the request's
fingerprint for 24 hours. A retry with the same key and the same request gets
the stored answer; with a different request, a 422; while the first is still
running, a 409. A 5xx (or 409/429, which a retry may well get past) releases
the key so the client can try again.

A browser form cannot send a header, so an ``idempotency_key`` field in a
urlencoded POST is the same key (a page renders a fresh one per form): a
double-clicked submit stores once and the second answer is the first's (a
redirect's Location is kept as its stored body, a redirect having none). A
form's retry waits a moment for the first answer rather than reading a 409.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any
from urllib.parse import unquote_to_bytes

import anyio
from anyio import to_thread
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gis_service.core.db import owner_engine
from gis_service.core.faults import classify
from gis_service.core.limits import send_problem

logger = logging.getLogger(__name__)

HEADER = b"idempotency-key"
FORM_TYPE = b"application/x-www-form-urlencoded"
_FORM_KEY = re.compile(rb"(?:^|&)idempotency_key=([^&]+)")
FORM_WAIT_S = 10.0  # how long a form's second submit waits for the first's answer
TTL = "24 hours"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, as RFC drafts use
_RELEASED = {409, 429}
_MAX_STORED = 5 * 1024 * 1024

_CLAIM = text(
    f"""
    INSERT INTO idempotency_keys (key, fingerprint)
    VALUES (:key, :fp)
    ON CONFLICT (key) DO UPDATE
       SET fingerprint = EXCLUDED.fingerprint, created_at = now(), status = NULL,
           content_type = NULL, body = NULL
     WHERE idempotency_keys.created_at < now() - interval '{TTL}'
    RETURNING key
    """
)
_STORED = text(
    "SELECT fingerprint, status, content_type, body FROM idempotency_keys"
    " WHERE key = :key"
)
_SAVE = text(
    "UPDATE idempotency_keys SET status = :status, content_type = :ctype,"
    " body = :body WHERE key = :key AND fingerprint = :fp"
)
_RELEASE = text("DELETE FROM idempotency_keys WHERE key = :key AND status IS NULL")
_EXPIRE = text(
    f"DELETE FROM idempotency_keys WHERE created_at < now() - interval '{TTL}'"
)


def fingerprint(scope: Scope, body: bytes) -> str:
    """What makes two requests "the same": method, path, query, media type, body.

    A multipart body's boundary is random per attempt, so it is left out.
    """
    ctype = ""
    for key, value in scope.get("headers", ()):
        if key.lower() == b"content-type":
            ctype = value.decode("latin-1")
    boundary = re.search(r"boundary=\"?([^\";]+)", ctype)
    if boundary:
        body = body.replace(boundary.group(1).encode("latin-1"), b"-")
        ctype = ctype.split(";")[0]
    digest = hashlib.sha256()
    for part in (scope["method"], scope["path"], scope.get("query_string", b""), ctype):
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


def remove_expired(engine: Engine) -> None:
    """Forget answers older than the TTL (run at start; claims also overwrite them)."""
    with engine.begin() as conn:
        conn.execute(_EXPIRE)


class Idempotency:
    """The middleware described above; requests without the header pass through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Claim the key, replay a stored answer, or run and store the answer."""
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        key = headers.get(HEADER)
        body: bytes | None = None
        if key is None:
            if not headers.get(b"content-type", b"").startswith(FORM_TYPE):
                await self.app(scope, receive, send)
                return
            body, more = await _read_all(receive)
            if more is None:
                return  # the client went away
            key = _form_key(body)
            if key is None:
                await self.app(scope, _replay(body), send)
                return
        path = str(scope["path"])
        text_key = key.decode("latin-1")
        if not _KEY.match(text_key):
            detail = "Idempotency-Key must be 1-255 printable ASCII characters"
            await send_problem(send, 400, "Bad request", detail, path)
            return
        from_form = body is not None
        if body is None:
            body, more = await _read_all(receive)
            if more is None:
                return  # the client went away
        fp = fingerprint(scope, body)
        engine = owner_engine(scope["app"].state)  # the ledger is the owner's
        try:
            claimed = await to_thread.run_sync(_claim, engine, text_key, fp)
            stored = claimed[1]
            if not claimed[0] and from_form:
                stored = await _settled(engine, text_key, stored)
        except DBAPIError as exc:
            problem = classify(exc)
            if problem is None:
                raise
            await send_problem(
                send, problem.status, problem.title, problem.detail, path,
                problem.headers(),
            )  # fmt: skip
            return
        if not claimed[0]:
            await self._answer_stored(send, path, fp, stored)
            return
        await self._run(scope, send, engine, text_key, fp, body)

    async def _answer_stored(self, send: Send, path: str, fp: str, stored: Any) -> None:
        if stored is None:  # expired and claimed by another between the two reads
            await send_problem(send, 409, "Conflict", "retry with the key again", path)
            return
        their_fp, status, ctype, body = stored
        if their_fp != fp:
            detail = (
                "this Idempotency-Key was used with a different request; use a new key"
            )
            await send_problem(send, 422, "Invalid input", detail, path)
            return
        if status is None:
            detail = "a request with this Idempotency-Key is still running; retry later"
            await send_problem(
                send, 409, "Conflict", detail, path, {"Retry-After": "1"}
            )
            return
        body = bytes(body)
        headers = [(b"idempotent-replayed", b"true")]
        if 300 <= status < 400:  # a redirect's stored body is its Location
            headers.append((b"location", body))
            body = b""
        else:
            headers.append(
                (b"content-type", (ctype or "application/json").encode("latin-1"))
            )
        headers.append((b"content-length", str(len(body)).encode()))
        await send(
            {"type": "http.response.start", "status": status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": body})

    async def _run(
        self, scope: Scope, send: Send, engine: Engine, key: str, fp: str, body: bytes
    ) -> None:
        status = 500
        ctype = ""
        chunks: list[bytes] = []
        location = b""

        async def keep(message: Message) -> None:
            nonlocal status, ctype, location
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        ctype = value.decode("latin-1")
                    elif name.lower() == b"location":
                        location = value
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, _replay(body), keep)
        finally:
            answer = location if 300 <= status < 400 else b"".join(chunks)
            keep_it = status < 500 and status not in _RELEASED
            keep_it = keep_it and len(answer) <= _MAX_STORED
            try:
                await to_thread.run_sync(
                    _finish, engine, key, fp, status if keep_it else None, ctype, answer
                )
            except DBAPIError:  # the answer was sent; a retry will simply run again
                logger.warning("idempotency key %s: could not store the answer", key)


def _claim(engine: Engine, key: str, fp: str) -> tuple[bool, Any]:
    """(True, None) if this request may run, else (False, the stored row)."""
    with engine.begin() as conn:
        if conn.execute(_CLAIM, {"key": key, "fp": fp}).first() is not None:
            return True, None
        return False, conn.execute(_STORED, {"key": key}).first()


def _finish(
    engine: Engine, key: str, fp: str, status: int | None, ctype: str, body: bytes
) -> None:
    with engine.begin() as conn:
        if status is None:
            conn.execute(_RELEASE, {"key": key})
        else:
            conn.execute(
                _SAVE,
                {"key": key, "fp": fp, "status": status, "ctype": ctype, "body": body},
            )


async def _read_all(receive: Receive) -> tuple[bytes, bool | None]:
    """The whole request body (already capped by the RequestGuard)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"", None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes) -> Receive:
    """A ``receive`` that hands the app the body already read, then a disconnect."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _form_key(body: bytes) -> bytes | None:
    """The ``idempotency_key`` field of a urlencoded form, if it has one."""
    found = _FORM_KEY.search(body)
    return unquote_to_bytes(found.group(1).replace(b"+", b" ")) if found else None


def _stored(engine: Engine, key: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(_STORED, {"key": key}).first()


async def _settled(engine: Engine, key: str, stored: Any) -> Any:
    """A form's double submit: wait (briefly) for the first one's stored answer."""
    waited = 0.0
    while stored is not None and stored[1] is None and waited < FORM_WAIT_S:
        await anyio.sleep(0.1)
        waited += 0.1
        stored = await to_thread.run_sync(_stored, engine, key)
    return stored
