"""The grid leader's workbench: server-rendered pages (Jinja2, autoescaped).

Routes parse the query or form, call one function of ``pages.service`` and render
a template; a domain error on a form is shown beside its field and nothing is
saved. After a successful POST the browser is redirected (POST/redirect/GET), so
reloading a page never submits twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from gis_service.app.pages import service
from gis_service.app.pages.labels import EN, ZH, install
from gis_service.app.pages.nav import may_search, may_see, nav_links
from gis_service.app.pages.xlsx import workbook
from gis_service.core.auth.suppress import suppress
from gis_service.core.deps import (
    LocaleDep,
    SessionDep,
    TownshipDep,
    locale_of,
    remember_locale,
)
from gis_service.core.display import shown_time
from gis_service.core.errors import GridGISError, NotFound
from gis_service.core.i18n import N_, translator
from grids.models import DEMAND_CATEGORIES, HOUSEHOLD_TAGS, VISIT_PURPOSES

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


@pass_context
def _km(context: Any, metres: float | None) -> str:
    if metres is None:
        return "—"
    _ = translator(context.get("locale") or ZH)
    if metres >= 1000:
        return _("{km} 公里").format(km=f"{metres / 1000:.2f}")
    return _("{m} 米").format(m=f"{metres:.0f}")


def _day(value: datetime | None) -> str:
    return shown_time(value) if value else ""


install(templates.env)
templates.env.globals.update(
    pct=_pct, km=_km, day=_day, nav_links=nav_links, may_see=may_see,
    may_search=may_search,
)  # fmt: skip


def switch_href(request: Request, locale: str) -> str:
    """The same page in ``locale`` (a POSTed page: the site's start page)."""
    if request.method != "GET":
        return "/?" + urlencode({"lang": locale})
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return request.url.path + "?" + urlencode([*query, ("lang", locale)])


def page_context(request: Request) -> dict[str, Any]:
    """What every page's frame needs: the locale and the link to the other one."""
    locale = locale_of(request)
    other = ZH if locale == EN else EN
    return {
        "locale": locale,
        "switch_locale": other,
        "switch_href": switch_href(request, other),
    }


def _page(
    request: Request,
    name: str,
    township: str | None,
    http_status: int = 200,
    **data: Any,
) -> HTMLResponse:
    """Render a page with what every page needs (township, locale, CSRF token)."""
    principal = getattr(request.state, "principal", None)
    context = {
        "township": township,
        **page_context(request),
        "csrf": getattr(principal, "csrf", "") or "",
        "principal": principal,
        **data,
    }
    response = templates.TemplateResponse(
        request, name, context, status_code=http_status
    )
    remember_locale(request, response)
    return response


def _actor(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    return str(getattr(principal, "name", None) or "工作台")


@router.get("/", response_class=HTMLResponse)
def index(request: Request, session: SessionDep) -> Response:
    """Straight to the workbench of the user's township, or a choice of townships."""
    rows = service.townships(session)
    if len(rows) == 1:
        return RedirectResponse(f"/w/{rows[0]['code']}", status_code=303)
    return _page(request, "townships.html", None, townships=rows)


@router.get("/static/pages/{name}")
def asset(name: str) -> FileResponse:
    """The workbench's own stylesheet and script (no outside requests)."""
    path = (STATIC / name).resolve()
    if path.parent != STATIC or not path.is_file():
        raise NotFound(f"no asset {name!r}")
    return FileResponse(path)


@router.get("/w/{township}", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, township: TownshipDep) -> Response:
    """工作台: coverage by grid, overdue visits, demands, disputes, hazards."""
    data: Any = service.home(session, township=township)
    if getattr(getattr(request.state, "principal", None), "role", None) == "viewer":
        data = suppress(jsonable_encoder(data))  # the API's "<5" rule on the page too
    return _page(request, "home.html", township, data=data)


def _uncovered_filters(
    grid: str | None, cadre: str | None, tag: str | None, min_days: str | None
) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    days: float | None = None
    if min_days not in (None, ""):
        try:
            days = float(str(min_days))
        except ValueError:
            errors["min_days"] = N_("超期天数应为数字")
    values = {
        "grid": grid or None,
        "cadre": cadre or None,
        "tag": tag or None,
        "min_days": days,
    }
    return values, errors


@router.get("/w/{township}/uncovered", response_class=HTMLResponse)
def uncovered(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    grid: str | None = None,
    cadre: str | None = None,
    tag: str | None = None,
    min_days: str | None = None,
) -> Response:
    """未走访: filter by grid, cadre, tag and days overdue; select -> plan a route."""
    f, errors = _uncovered_filters(grid, cadre, tag, min_days)
    rows: list[Any] = []
    try:
        rows = service.uncovered(session, township=township, **f)
    except GridGISError as exc:
        errors = service.form_errors(exc)
    query = urlencode({k: v for k, v in f.items() if v is not None})
    return _page(
        request,
        "uncovered.html",
        township,
        rows=rows,
        f=f,
        errors=errors,
        tags=HOUSEHOLD_TAGS,
        query=query,
        http_status=422 if errors else 200,
    )


@router.get("/w/{township}/uncovered.xlsx")
def uncovered_xlsx(
    session: SessionDep,
    township: TownshipDep,
    locale: LocaleDep,
    grid: str | None = None,
    cadre: str | None = None,
    tag: str | None = None,
    min_days: str | None = None,
) -> Response:
    """未走访台账 as XLSX, headers in the page's language (Chinese first)."""
    _ = translator(locale)
    f, _errors = _uncovered_filters(grid, cadre, tag, min_days)
    rows = service.uncovered(session, township=township, **f)
    book = workbook(
        _("未走访农户"),
        [
            _("农户编码"),
            _("户主"),
            _("标签"),
            _("责任干部"),
            _("上次走访"),
            _("超期天数"),
        ],
        [
            [
                r.household,
                r.head_name,
                _("、").join(_(t) for t in r.tags),
                r.cadre_name or r.cadre or _("未分配"),
                _day(r.last_visit) or _("从未走访"),
                None if r.overdue_days is None else round(r.overdue_days),
            ]
            for r in rows
        ],
    )
    return _xlsx(book, f"{_('未走访')}-{township}.xlsx")


def _xlsx(data: bytes, name: str) -> Response:
    from urllib.parse import quote

    disposition = f"attachment; filename=ledger.xlsx; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type=XLSX, headers={"Content-Disposition": disposition})


@router.post("/w/{township}/route", response_class=HTMLResponse)
def route(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    households: Annotated[list[str] | None, Form()] = None,
    cadre: Annotated[str | None, Form()] = None,
    per_day: Annotated[str | None, Form()] = None,
) -> Response:
    """Plan a route over the chosen households (or a cadre's due ones): a sheet."""
    try:
        day_cap = int(per_day) if per_day else None
        plan = service.route_for(
            session,
            township=township,
            households=households or [],
            cadre=cadre,
            per_day=day_cap,
        )
    except (GridGISError, ValueError) as exc:
        reason = exc.detail if isinstance(exc, GridGISError) else N_("每天户数应为整数")
        return _page(
            request,
            "uncovered.html",
            township,
            rows=[],
            f={},
            tags=HOUSEHOLD_TAGS,
            query="",
            errors={"form": reason},
            http_status=422,
        )
    codes = [s.household for d in plan.days for s in d.stops if s.household]
    names = service.household_names(session, township=township, codes=codes)
    return _page(
        request,
        "route_sheet.html",
        township,
        plan=plan,
        cadre=cadre,
        names=names,
        stops=len(codes),
    )


@router.get("/w/{township}/households/{code}", response_class=HTMLResponse)
def household(
    request: Request, session: SessionDep, township: TownshipDep, code: str
) -> Response:
    """农户: attributes, grid, cadre, visits, demands."""
    data = service.household(session, township=township, code=code)
    return _page(request, "household.html", township, data=data)


@router.get("/w/{township}/cadres/{code}", response_class=HTMLResponse)
def cadre_page(
    request: Request, session: SessionDep, township: TownshipDep, code: str
) -> Response:
    """干部: households due, and a route plan with a printable sheet."""
    data = service.cadre(session, township=township, code=code)
    return _page(request, "cadre.html", township, data=data)


@router.get("/w/{township}/visit", response_class=HTMLResponse)
def visit_form(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    household: str | None = None,
    saved: int | None = None,
) -> Response:
    """走访登记: a phone form (GPS from the browser when allowed)."""
    return _page(
        request,
        "visit.html",
        township,
        form={"household": household},
        errors={},
        saved=service.saved_visit(session, township=township, visit_id=saved),
        purposes=VISIT_PURPOSES,
        categories=DEMAND_CATEGORIES,
        form_id=uuid.uuid4().hex,
    )


@router.post("/w/{township}/visit", response_class=HTMLResponse)
async def visit_save(
    request: Request, session: SessionDep, township: TownshipDep
) -> Response:
    """Save a visit; bad input is shown beside its field and nothing is saved."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    fields = {
        k: form.get(k)
        for k in (
            "household",
            "purpose",
            "visited_at",
            "notes",
            "lon",
            "lat",
            "demand",
            "demand_category",
        )
    }
    try:
        saved = service.log_visit(
            session, township=township, form=fields, actor=_actor(request)
        )
    except GridGISError as exc:
        session.rollback()
        return _page(
            request,
            "visit.html",
            township,
            form=fields,
            errors=service.form_errors(exc),
            saved=None,
            purposes=VISIT_PURPOSES,
            categories=DEMAND_CATEGORIES,
            form_id=uuid.uuid4().hex,  # the refused answer is kept under the old key
            http_status=exc.status,
        )
    return RedirectResponse(f"/w/{township}/visit?saved={saved.id}", status_code=303)


@router.get("/w/{township}/search", response_class=HTMLResponse)
def search(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """Find a household (name, code, village), a cadre or a grid."""
    rows = service.search(session, township=township, q=q)
    return _page(request, "search.html", township, rows=rows, q=q)
