"""Request dependencies: the session, the township scope and common query parsers.

Parsers raise domain errors (``InvalidInput``/``NotFound``) so every bad value
comes back as problem+json naming the parameter.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from gis_service.core.db import committed_at_once, get_session
from gis_service.core.errors import InvalidInput
from gis_service.core.i18n import COOKIE, negotiate, normalize
from gis_service.core.inputs import UNSTORABLE_REASON, Offset, storable
from gis_service.core.settings import Settings
from gis_service.core.townships import check_township_code, require_township

SessionDep = Annotated[Session, Depends(get_session)]
ResponseT = TypeVar("ResponseT", bound=Response)


def _shown(name: str) -> str:
    """A name safe to echo in JSON (surrogates would break the UTF-8 response)."""
    shown = name.encode("utf-8", "backslashreplace").decode("utf-8")
    return shown.replace("\x00", "\\0")


def _unstorable(value: Any, field: str, where: str) -> list[dict[str, str]]:
    """Every string (key or value) under ``value`` that PostgreSQL cannot store."""
    if isinstance(value, str):
        if storable(value):
            return []
        return [{"field": _shown(field), "in": where, "reason": UNSTORABLE_REASON}]
    if isinstance(value, dict):
        items = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(str(i), v) for i, v in enumerate(value)]
    else:
        return []
    found: list[dict[str, str]] = []
    for key, item in items:
        name = f"{field}.{key}" if field else key
        found += _unstorable(key, name, where) + _unstorable(item, name, where)
    return found


async def reject_unstorable_text(request: Request) -> None:
    """App-wide guard: no NUL or unpaired surrogate in path, query or body text.

    Either would fail deep in a query as a 500; here the field is named instead.
    """
    found: list[dict[str, str]] = []
    for name, value in request.path_params.items():
        found += _unstorable(value, name, "path")
    for name, value in request.query_params.multi_items():
        found += _unstorable(name, name, "query") + _unstorable(value, name, "query")
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:  # malformed JSON: FastAPI's own validation names it
            body = None
        found += _unstorable(body, "", "body")
    elif ctype.startswith("multipart/form-data"):
        form = await request.form()
        for name, value in form.multi_items():
            text = value if isinstance(value, str) else value.filename or ""
            found += _unstorable(name, name, "form") + _unstorable(text, name, "form")
    if found:
        raise InvalidInput(
            "text must not contain NUL characters or unpaired surrogates: "
            + ", ".join(dict.fromkeys(f["field"] for f in found)),
            errors=found,
        )


async def get_settings_dep(request: Request) -> Settings:
    """The settings the app was built with.

    ``async`` because it does no I/O: a plain ``def`` dependency costs every
    request a hop to the thread pool and back.
    """
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def township_scope(
    session: SessionDep,
    township: Annotated[
        str, Path(description="12-digit statistical division code of the township")
    ],
) -> str:
    """Validate the township path parameter; every query below is scoped by it.

    The check is its own transaction (``committed_at_once``): the request then
    waits for its handler holding no lock.
    """
    check_township_code(township)
    with committed_at_once(session):
        require_township(
            session,
            township=township,
            hint=f"; create it with PUT /townships/{township}",
        )
    return township


TownshipDep = Annotated[str, Depends(township_scope)]


def locale_of(request: Request) -> str:
    """A page's locale: ``?lang=``, then its cookie, then Accept-Language, zh-CN."""
    return negotiate(
        request.query_params.get("lang"),
        request.cookies.get(COOKIE),
        request.headers.get("accept-language"),
    )


async def request_locale(request: Request) -> str:
    """``locale_of`` as a dependency (async: no I/O, no thread-pool hop)."""
    return locale_of(request)


LocaleDep = Annotated[str, Depends(request_locale)]


def remember_locale(request: Request, response: ResponseT) -> ResponseT:
    """Keep a ``?lang=`` choice in a cookie, so the next page follows it.

    The page's words depend on Accept-Language too: a cache must key on it.
    """
    response.headers.add_vary_header("Accept-Language")
    chosen = normalize(request.query_params.get("lang"))
    if chosen:
        response.set_cookie(
            COOKIE, chosen, max_age=365 * 24 * 3600, samesite="lax", httponly=True
        )
    return response


_NUM = r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*"
BBOX_PATTERN = f"^{_NUM},{_NUM},{_NUM},{_NUM}$"


def parse_bbox(
    bbox: Annotated[
        str | None,
        Query(
            description="minLon,minLat,maxLon,maxLat in EPSG:4326",
            examples=["102.3,37.0,102.7,37.3"],
            # four numbers; the ranges (lon ±180, lat ±90, min <= max) are 422s
            pattern=BBOX_PATTERN,
        ),
    ] = None,
) -> tuple[float, float, float, float] | None:
    """Parse an OGC-style ``bbox`` query parameter."""
    if bbox is None:
        return None
    parts = bbox.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInput(
            f"bbox {bbox!r} must be four numbers minLon,minLat,maxLon,maxLat",
            errors=[{"field": "bbox", "reason": "expected 4 comma-separated numbers"}],
        )
    min_x, min_y, max_x, max_y = values
    if not (
        -180 <= min_x <= 180 and -180 <= max_x <= 180 and -90 <= min_y <= max_y <= 90
    ):
        raise InvalidInput(
            f"bbox {bbox!r} is outside lon -180..180 / lat -90..90 "
            "or has minLat > maxLat",
            errors=[{"field": "bbox", "reason": "out of range"}],
        )
    return min_x, min_y, max_x, max_y


BBoxDep = Annotated[tuple[float, float, float, float] | None, Depends(parse_bbox)]


class Page:
    """``limit``/``offset`` with a hard cap on limit."""

    def __init__(self, limit: int, offset: int) -> None:
        self.limit = limit
        self.offset = offset


def parse_page(
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, description="items per page (capped)")] = 100,
    offset: Annotated[Offset, Query()] = 0,
) -> Page:
    """Paging parameters; a limit over the cap is refused, not silently cut."""
    if limit > settings.page_limit_max:
        raise InvalidInput(
            f"limit {limit} exceeds the maximum of {settings.page_limit_max}",
            errors=[{"field": "limit", "reason": f"at most {settings.page_limit_max}"}],
        )
    return Page(limit, offset)


PageDep = Annotated[Page, Depends(parse_page)]
