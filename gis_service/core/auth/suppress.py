"""Small counts hidden from viewers: fewer than 5 households is "<5".

A viewer sees aggregates only, but a grid of three households with one
``低保`` tag names a family to anyone who knows the village. Counts of 1-4 become
"<5" (0 is shown: it reveals no one), rates over fewer than five households or
demands are withheld, and a sentence that spells the counts out is dropped.
Applied to every JSON answer a viewer gets, so an aggregate added later is
covered without anyone remembering to.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SMALL = "<5"
THRESHOLD = 5
# integers that describe the structure, not people: never suppressed
STRUCTURE = frozenset(
    {
        "id",
        "grid_id",
        "run_id",
        "depth",
        "level",
        "default_days",
        "days",
        "capacity",
        "cadres",
        "cadres_needed",
        "grids",
        "townships",
        "roads",
        "shelters",
        "duration_ms",
        "limit",
        "offset",
        "numberMatched",
        "numberReturned",
    }
)
DENOMINATORS = ("households", "collected")
RATES = ("_share", "_rate")
SENTENCES = ("summary", "shortfall")
SKIP = frozenset({"rules", "last_run"})  # settings and a run's own statistics


def _small(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 5


def suppress(data: Any) -> Any:
    """The same structure with counts of 1-4 as "<5" and what they would reveal."""
    if isinstance(data, list):
        return [suppress(item) for item in data]
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    hidden = False
    for key, value in data.items():
        if key in SKIP or (key in STRUCTURE and not isinstance(value, dict | list)):
            out[key] = value
        elif _small(value):
            out[key] = SMALL
            hidden = True
        else:
            out[key] = suppress(value)
    few = any(_small(data.get(k)) for k in DENOMINATORS)
    for key in out:
        if few and key.endswith(RATES):
            out[key] = None
        if hidden and key in SENTENCES:
            out[key] = None
    return out


class SuppressForViewers:
    """ASGI middleware: a viewer's JSON answers go through ``suppress``.

    Plain ASGI, not ``BaseHTTPMiddleware``: every other answer (a vector tile, a
    page) passes through untouched, without the task group and body streaming
    that cost every request of every user a few milliseconds.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hold a viewer's JSON answer, send it suppressed; pass the rest on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_suppressed(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                # the route has run: request.state lives in scope["state"]
                principal = scope.get("state", {}).get("principal")
                ctype = dict(message.get("headers", [])).get(b"content-type", b"")
                if getattr(principal, "role", None) == "viewer" and ctype.startswith(
                    b"application/json"
                ):
                    start = message
                    return
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                data = suppress(json.loads(b"".join(chunks)))
                body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
                encoded = body.encode()
                headers = [
                    (k, v)
                    for k, v in start.get("headers", [])
                    if k.lower() != b"content-length"
                ]
                headers.append((b"content-length", str(len(encoded)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": encoded})
                return
            await send(message)

        await self.app(scope, receive, send_suppressed)
