"""Request dependencies: who is signed in (bearer token or cookie), and checks.

Every route requires a user unless it is public (health, sign-in, the API docs
and static assets): ``require_user`` is an app-wide dependency, so a route added
later is protected without anyone remembering to. ``current_user`` gives a route
the user; ``admin_user`` refuses other roles (403).
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from anyio import CancelScope
from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gis_service.core.auth import tokens
from gis_service.core.auth.audit import record, remember_request
from gis_service.core.auth.policy import check_route, may_unmask
from gis_service.core.auth.principal import Principal, resolve_token_user
from gis_service.core.auth.scope import (
    apply_scope,
    clear_scope,
    clearing_needs_statement,
    unscoped,
)
from gis_service.core.db import committed_at_once
from gis_service.core.deps import SessionDep, SettingsDep
from gis_service.core.errors import Forbidden, Unauthorized
from gis_service.core.settings import Settings

SESSION_COOKIE = "gridgis_session"
CSRF_COOKIE = "gridgis_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PATHS = frozenset(
    {
        "/health",
        "/auth/token",
        "/auth/session",
        "/auth/logout",
        "/login",
        "/logout",
        "/docs",
        "/docs/oauth2-redirect",
        "/openapi.json",
    }
)
PUBLIC_PREFIXES = ("/static/",)

bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def is_public(request: Request) -> bool:
    """Whether the matched route (its template, not the raw URL) is public."""
    route = request.scope.get("route")
    path = str(getattr(route, "path", request.url.path))
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


async def csrf_sent(request: Request) -> str | None:
    """The CSRF token a form field or header carries (read before the DB work)."""
    if request.method in SAFE_METHODS:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def optional_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(bearer)],
    csrf: Annotated[str | None, Depends(csrf_sent)],
) -> AsyncIterator[Principal | None]:
    """The user a bearer token or session cookie names; None when neither is sent.

    A cookie alone authorises a write only with the CSRF token that came with it
    (double submit: the cookie's signed claim must equal the header or form field).
    From here on the request's transactions run under the user's scope (RLS).

    ``async``, its database work in one thread-pool hop (``_sign_in``), and its
    end in none unless it writes: as a plain generator it took two hops per
    request, each a good part of a small request's Python time.
    """
    if is_public(request):
        yield None
        return
    principal = await run_in_threadpool(
        _sign_in, request, session, settings, token, csrf
    )
    if principal is None:
        yield None
        return
    try:
        yield principal
        if request.method not in SAFE_METHODS:  # a write that succeeded
            await run_in_threadpool(_record_write, request, session)
    finally:
        # get_session closes the session next
        if clearing_needs_statement(session, closing=True):
            with CancelScope(shield=True):
                await run_in_threadpool(clear_scope, session, closing=True)
        else:
            clear_scope(session, closing=True)


def _sign_in(
    request: Request,
    session: Session,
    settings: Settings,
    token: str | None,
    csrf: str | None,
) -> Principal | None:
    """Verify the token or cookie, read the user and scope, scope the session."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if token:
        claims = tokens.verify(settings, token, kind="access")
        via = "bearer"
    elif cookie:
        claims = tokens.verify(settings, cookie, kind="session")
        via = "cookie"
        if request.method not in SAFE_METHODS and not (
            csrf and claims.csrf and hmac.compare_digest(csrf, claims.csrf)
        ):
            raise Forbidden(
                "a form sent with the session cookie needs its CSRF token "
                f"({CSRF_HEADER} header or {CSRF_FIELD} field)"
            )
    else:
        return None
    # its own transaction: no lock held while the request waits for its handler
    with committed_at_once(session), unscoped(session):  # the scope is found here
        principal = resolve_token_user(
            session, user_id=claims.user_id, version=claims.version, via=via,
            csrf=claims.csrf,
        )  # fmt: skip
        # taken with the handler's first statement, with the system role given up
        apply_scope(session, principal)
    request.state.principal = principal
    address = request.client.host if request.client else "unknown"
    remember_request(
        session, method=request.method, path=request.url.path, address=address
    )
    return principal


def _record_write(request: Request, session: Session) -> None:
    record(
        session,
        action="write",
        township=request.path_params.get("township"),
        rows={"path": dict(request.path_params), "query": dict(request.query_params)},
    )


OptionalUser = Annotated[Principal | None, Depends(optional_user)]


async def require_user(request: Request, user: OptionalUser) -> None:
    """App-wide: every route but the public ones needs a signed-in user.

    Then the role's function-level checks by route (admin-only, viewer
    aggregates): see ``gis_service.core.auth.policy``. ``async``, like the other
    checks here that do no I/O, to spare every request a thread-pool hop.
    """
    if is_public(request):
        return
    if user is None:
        raise Unauthorized(
            "sign in first: POST /auth/token (user name and password) and send "
            "'Authorization: Bearer <token>'"
        )
    route = request.scope.get("route")
    check_route(user, request.method, str(getattr(route, "path", "")))


async def current_user(user: OptionalUser) -> Principal:
    """The signed-in user (401 when there is none)."""
    if user is None:
        raise Unauthorized("sign in first: POST /auth/token")
    return user


CurrentUser = Annotated[Principal, Depends(current_user)]


async def admin_user(user: CurrentUser) -> Principal:
    """Only admins: imports, assignment and detection runs, users, the audit log."""
    if not user.is_admin:
        raise Forbidden(f"only an admin may do this (you are {user.role})")
    return user


AdminUser = Annotated[Principal, Depends(admin_user)]


async def unmask_param(
    user: CurrentUser,
    unmask: Annotated[
        bool,
        Query(
            description="show ID numbers and phones whole, for rows in your scope "
            "(audited; never for viewers)"
        ),
    ] = False,
) -> bool:
    """Whether to unmask personal data; a viewer asking is refused (403)."""
    if unmask and not may_unmask(user):
        raise Forbidden(f"a {user.role} may not see personal data unmasked")
    return unmask


UnmaskDep = Annotated[bool, Depends(unmask_param)]
