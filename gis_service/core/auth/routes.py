"""Sign-in: the OAuth2 password flow (``/auth/token``) and the cookie session."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response

from gis_service.core.auth import audit, tokens
from gis_service.core.auth.deps import CSRF_COOKIE, SESSION_COOKIE, CurrentUser
from gis_service.core.auth.models import User
from gis_service.core.auth.users import active_user, authenticate, user_out
from gis_service.core.deps import SessionDep, SettingsDep
from gis_service.core.errors import InvalidInput
from gis_service.core.inputs import Instant, as_utc
from gis_service.core.settings import Settings

router = APIRouter(prefix="/auth", tags=["auth"])


def client_address(request: Request) -> str:
    """The peer address the per-address limit counts (proxies: see README)."""
    return request.client.host if request.client else "unknown"


@router.post("/token")
def token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    grant_type: Annotated[str, Form(pattern="^(password|refresh_token)$")] = "password",
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    refresh_token: Annotated[str, Form(max_length=4096)] = "",
) -> dict[str, Any]:
    """Sign in (grant_type=password) or renew (grant_type=refresh_token)."""
    if grant_type == "password":
        if not username or not password:
            raise InvalidInput("username and password are required")
        user = authenticate(
            session,
            username=username,
            password=password,
            address=client_address(request),
            limits=settings.auth,
        )
    else:
        claims = tokens.verify(settings, refresh_token, kind="refresh")
        user = active_user(session, user_id=claims.user_id, version=claims.version)
    access, lifetime = tokens.issue(
        settings, user_id=user.id, version=user.token_version, kind="access"
    )
    refresh, _ = tokens.issue(
        settings, user_id=user.id, version=user.token_version, kind="refresh"
    )
    return {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": lifetime,
        "refresh_token": refresh,
        "role": user.role,
    }


@router.post("/session")
def open_session(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
) -> dict[str, Any]:
    """Sign in the browser: an HttpOnly session cookie and a CSRF token for forms."""
    user = authenticate(
        session,
        username=username,
        password=password,
        address=client_address(request),
        limits=settings.auth,
    )
    csrf = set_session_cookies(response, settings, user)
    return {"user": user_out(user), "csrf_token": csrf}


def set_session_cookies(response: Response, settings: Settings, user: User) -> str:
    """The HttpOnly session cookie and the CSRF cookie; returns the CSRF token."""
    csrf = secrets.token_urlsafe(24)
    value, lifetime = tokens.issue(
        settings,
        user_id=user.id,
        version=user.token_version,
        kind="session",
        csrf=csrf,
    )
    secure = settings.auth.cookie_secure
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=lifetime,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    # readable by the page's script, which echoes it in the X-CSRF-Token header
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=lifetime, samesite="lax", secure=secure, path="/"
    )
    return csrf


def clear_session_cookies(response: Response) -> None:
    """Sign the browser out."""
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.post("/logout", status_code=204)
def close_session(response: Response) -> Response:
    """Sign the browser out (the cookies are cleared)."""
    response.status_code = 204
    clear_session_cookies(response)
    return response


@router.get("/me")
def me(user: CurrentUser) -> dict[str, Any]:
    """Who is signed in, with their role and scope."""
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "township": user.township,
        "county": user.county,
        "grid": user.grid_code,
        "cadre": user.cadre_code,
        "townships": None if user.all_townships else list(user.townships),
        "via": user.via,
    }


audit_router = APIRouter(tags=["auth"])


@audit_router.get("/audit")
def audit_log(
    session: SessionDep,
    township: Annotated[str | None, Query(max_length=12)] = None,
    user: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(pattern="^(unmask|write)$")] = None,
    since: Annotated[Instant | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """Audit entries, newest first (admins; their townships' entries only)."""
    return audit.list_entries(
        session,
        township=township,
        user=user,
        action=action,
        since=as_utc(since) if since else None,
        limit=limit,
    )
