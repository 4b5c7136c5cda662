"""The workbench's hazard pages: 隐患台账, one hazard's ledger, its warn list.

Routes parse the query or form and call ``pages.service``, which calls the
hazard ledger the HTTP API uses, so a page and ``/townships/{t}/hazards`` never
disagree. A step is POST/redirect/GET; a refused step (409 naming the allowed
ones, or closing without a note) is shown beside the form and nothing is saved.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gis_service.app.pages import service
from gis_service.app.pages.routes import _actor, _page
from gis_service.core.deps import SessionDep, SettingsDep, TownshipDep, locale_of
from gis_service.core.errors import Conflict, GridGISError
from gis_service.core.i18n import EN, N_
from layers.hazards.workflow import HAZARD_WORKFLOW
from layers.models import HAZARD_KINDS

router = APIRouter(include_in_schema=False)
NOTE_NEEDED = N_("销号须填写整改说明（如何整改、谁验收）")


def _filters(
    kind: str | None, status: str | None, overdue: str | None
) -> dict[str, Any]:
    """The list's filters; an empty select or an unticked box means no filter."""
    return {
        "kind": kind or None,
        "status": status or None,
        "overdue": overdue not in (None, "", "0", "false"),
    }


@router.get("/w/{township}/hazards", response_class=HTMLResponse)
def hazards(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    settings: SettingsDep,
    kind: str | None = None,
    status: str | None = None,
    overdue: str | None = None,
) -> Response:
    """隐患台账: filter by kind, status and overdue; most urgent first."""
    f = _filters(kind, status, overdue)
    errors: dict[str, str] = {}
    data = None
    try:
        data = service.hazards_page(
            session, township=township, settings=settings.hazards, **f
        )
    except GridGISError as exc:
        errors = service.form_errors(exc)
    query = urlencode(
        {
            k: ("true" if v is True else v)
            for k, v in f.items()
            if v not in (None, False)
        }
    )
    return _page(
        request,
        "hazards.html",
        township,
        data=data,
        f=f,
        errors=errors,
        kinds=HAZARD_KINDS,
        statuses=HAZARD_WORKFLOW.statuses,
        query=query,
        http_status=422 if errors else 200,
    )


def _hazard_page(
    request: Request,
    session: SessionDep,
    township: str,
    settings: SettingsDep,
    code: str,
    errors: dict[str, str],
    http_status: int = 200,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    h = service.hazard(session, township=township, code=code, settings=settings.hazards)
    return _page(
        request,
        "hazard.html",
        township,
        h=h,
        done=request.query_params.get("done") == "true" and not errors,
        errors=errors,
        form=form or {},
        http_status=http_status,
    )


@router.get("/w/{township}/hazards/{code}", response_class=HTMLResponse)
def hazard(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    settings: SettingsDep,
    code: str,
) -> Response:
    """One hazard: where, who, deadline, its ledger events and the next step."""
    return _hazard_page(request, session, township, settings, code, errors={})


def _step_errors(exc: GridGISError, locale: str) -> dict[str, str]:
    """A refused step beside the form (the 409 names the allowed moves).

    The workflow's detail is Chinese, then English after the first 。: a page
    shows the half in its locale, the Chinese one without the status codes.
    """
    if isinstance(exc, Conflict):
        zh, _, en = exc.detail.partition("。")
        if locale == EN and en:
            return {"to": en}
        return {"to": re.sub(r" \([a-z_]+\)", "", zh)}
    shown = service.form_errors(exc)
    if "note" in shown:
        shown["note"] = NOTE_NEEDED
    return shown


@router.post("/w/{township}/hazards/{code}/move", response_class=HTMLResponse)
def move_hazard(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    settings: SettingsDep,
    code: str,
    to: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Move a hazard one step (整改中, 已销号) with the leader's note."""
    try:
        service.move_hazard_step(
            session,
            township=township,
            code=code,
            to=to,
            note=note.strip(),
            actor=_actor(request),
            settings=settings.hazards,
        )
    except GridGISError as exc:
        session.rollback()
        return _hazard_page(
            request,
            session,
            township,
            settings,
            code,
            errors=_step_errors(exc, locale_of(request)),
            http_status=exc.status,
            form={"to": to, "note": note},
        )
    return RedirectResponse(
        f"/w/{township}/hazards/{quote(code, safe='')}?done=true", status_code=303
    )


@router.get("/w/{township}/hazards/{code}/warn", response_class=HTMLResponse)
def hazard_warn(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    settings: SettingsDep,
    code: str,
) -> Response:
    """转移避险: households to warn around the hazard, priority households first."""
    data = service.hazard_warn(
        session, township=township, code=code, settings=settings.hazards
    )
    return _page(request, "hazard_warn.html", township, code=code, data=data)
