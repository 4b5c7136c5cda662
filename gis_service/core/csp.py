"""Content-Security-Policy on every HTML page: scripts only from GridGIS itself.

folium writes its map set-up as inline ``<script>`` blocks, so a plain
``script-src 'self'`` would break every map, and ``'unsafe-inline'`` would also
let an injected ``onerror=`` attribute run. Instead each HTML response gets a
fresh nonce on the ``<script`` tags GridGIS itself rendered (data text is
escaped, so it holds no ``<script``), and only those and GridGIS's own files
may run. Inline *styles* stay allowed (folium and Leaflet set them; a style
cannot run code); images may come from the basemap tile servers.
"""

from __future__ import annotations

import re
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_SCRIPT = re.compile(rb"<script(?=[\s>])", re.IGNORECASE)


def policy(nonce: str, *, cdn: bool = False) -> str:
    """The header value; ``cdn`` also admits https scripts (assets from a CDN)."""
    scripts = f"'self' 'nonce-{nonce}'" + (" https:" if cdn else "")
    styles = "'self' 'unsafe-inline'" + (" https:" if cdn else "")
    return (
        f"default-src 'self'; script-src {scripts}; style-src {styles}; "
        "img-src 'self' data: blob: https:; font-src 'self' data:"
        + (" https:" if cdn else "")
        + "; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'self'"
    )


def add_nonce(body: bytes, nonce: str) -> bytes:
    """Give every ``<script`` tag of a rendered page the response's nonce."""
    return _SCRIPT.sub(b'<script nonce="' + nonce.encode() + b'"', body)


class ContentSecurityPolicy:
    """ASGI middleware: HTML responses get a nonce'd policy; others pass untouched."""

    def __init__(self, app: ASGIApp, *, cdn: bool = False) -> None:
        self.app = app
        self.cdn = cdn

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffer an HTML response, add the nonce to its scripts and the header."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_with_policy(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                given = dict(message.get("headers", []))
                if given.get(b"content-type", b"").startswith(b"text/html"):
                    start = message
                    return
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                nonce = secrets.token_urlsafe(16)  # only HTML needs one
                body = add_nonce(b"".join(chunks), nonce)
                headers = [
                    (k, v)
                    for k, v in start.get("headers", [])
                    if k.lower() not in (b"content-length", b"content-security-policy")
                ]
                headers += [
                    (b"content-length", str(len(body)).encode()),
                    (
                        b"content-security-policy",
                        policy(nonce, cdn=self.cdn).encode(),
                    ),
                    (b"x-content-type-options", b"nosniff"),
                ]
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, send_with_policy)
