"""Signed tokens (HS256 JWT): short-lived access, longer refresh, cookie session.

The key comes from ``GRIDGIS_AUTH__SECRET`` or, unset, is generated once and kept
0600 in a file beside the embedded cluster. A token carries the user's id and
``token_version``: a password reset or disabling bumps the version, so every token
issued before stops working at once.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from gis_service.core.errors import Unauthorized
from gis_service.core.settings import Settings

ALGORITHM = "HS256"
ISSUER = "gridgis"
KINDS = ("access", "refresh", "session")


def secret_file(settings: Settings) -> Path:
    """Where the generated signing key is kept."""
    if settings.auth.secret_file is not None:
        return settings.auth.secret_file
    return settings.embedded.data_dir.parent / (
        settings.embedded.data_dir.name + "-jwt.key"
    )


def signing_key(settings: Settings) -> str:
    """The configured key, else the generated one (created 0600 on first use)."""
    if settings.auth.secret:
        return settings.auth.secret
    path = secret_file(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


@dataclass(frozen=True)
class Claims:
    """What a verified token says."""

    user_id: int
    version: int
    kind: str
    csrf: str | None


def issue(
    settings: Settings,
    *,
    user_id: int,
    version: int,
    kind: str,
    csrf: str | None = None,
) -> tuple[str, int]:
    """A signed token of ``kind`` and its lifetime in seconds."""
    auth = settings.auth
    lifetime = {
        "access": auth.access_minutes * 60,
        "refresh": auth.refresh_hours * 3600,
        "session": auth.session_hours * 3600,
    }[kind]
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": str(user_id),
        "ver": version,
        "typ": kind,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    if csrf is not None:
        claims["csrf"] = csrf
    return jwt.encode(claims, signing_key(settings), algorithm=ALGORITHM), lifetime


def verify(settings: Settings, token: str, *, kind: str) -> Claims:
    """Check signature, expiry, issuer and kind; any doubt is a 401."""
    try:
        claims = jwt.decode(
            token,
            signing_key(settings),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "typ", "ver"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token has expired; sign in again") from None
    except jwt.PyJWTError:
        raise Unauthorized("the token is not valid") from None
    if claims.get("typ") != kind:
        raise Unauthorized(f"a {claims.get('typ')} token cannot be used as {kind}")
    try:
        return Claims(
            user_id=int(claims["sub"]),
            version=int(claims["ver"]),
            kind=kind,
            csrf=claims.get("csrf"),
        )
    except (TypeError, ValueError):
        raise Unauthorized("the token is not valid") from None
