"""Sign-in for the workbench: a form, the session cookie, then the page asked for.

A browser that opens a page without a session is sent here (``/login?next=…``)
instead of reading a 401 problem; the API keeps answering 401 problem+json.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gis_service.app.pages.routes import page_context, templates
from gis_service.core.auth.routes import (
    clear_session_cookies,
    client_address,
    set_session_cookies,
)
from gis_service.core.auth.users import authenticate
from gis_service.core.deps import SessionDep, SettingsDep, remember_locale
from gis_service.core.errors import TooManyRequests, Unauthorized, problem_response
from gis_service.core.i18n import N_

router = APIRouter(include_in_schema=False)
LOCKED = N_("账户因多次登录失败已锁定，请联系管理员解锁")
WRONG = N_("用户名或密码不正确")
TOO_MANY = N_("此地址登录失败次数过多，请稍后再试")
MISSING = N_("请输入用户名和密码")


def safe_next(value: str | None) -> str:
    """Only a path of this site: never a scheme or ``//host`` (an open redirect)."""
    if not value or value.startswith("//") or not value.startswith("/"):
        return "/"
    return "/" if any(c in value for c in "\\\r\n") else value


def wants_page(request: Request) -> bool:
    """A browser navigating (GET asking for HTML), not an API client."""
    accept = request.headers.get("accept", "")
    return request.method in ("GET", "HEAD") and "text/html" in accept


def to_sign_in(request: Request) -> RedirectResponse:
    """Where a browser without a session goes: the form, then back here."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)


def _form(
    request: Request, next_: str, error: str = "", username: str = "", status: int = 200
) -> HTMLResponse:
    context = {
        "township": None,
        **page_context(request),
        "next": next_,
        "error": error,
        "username": username,
    }
    response = templates.TemplateResponse(
        request, "login.html", context, status_code=status
    )
    remember_locale(request, response)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, next: Annotated[str, Query(max_length=2048)] = "/"
) -> Response:
    """登录: the form."""
    return _form(request, safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    """Check the password, set the session cookie, go on to ``next``."""
    target = safe_next(next)
    if not username or not password:
        return _form(request, target, MISSING, username, 422)
    try:
        user = authenticate(
            session,
            username=username,
            password=password,
            address=client_address(request),
            limits=settings.auth,
        )
    except TooManyRequests:
        return _form(request, target, TOO_MANY, username, 429)
    except Unauthorized as exc:
        message = LOCKED if "locked" in exc.detail else WRONG
        return _form(request, target, message, username, 401)
    response = RedirectResponse(target, status_code=303)
    set_session_cookies(response, settings, user)
    return response


@router.post("/logout")
def logout() -> Response:
    """退出: the cookies are cleared, back to the form."""
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookies(response)
    return response


async def unauthorized(request: Request, exc: Exception) -> Response:
    """401: a browser is sent to the sign-in form, an API client gets the problem."""
    if wants_page(request):
        return to_sign_in(request)
    assert isinstance(exc, Unauthorized)
    return problem_response(
        exc.status, exc.to_problem(str(request.url.path)), exc.headers()
    )
