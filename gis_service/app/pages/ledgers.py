"""The workbench's two ledgers: pasture disputes (纠纷) and demands (诉求).

Lists with filters, the XLSX download and the status moves; the same page
helpers as ``pages.routes`` (render, actor, XLSX response), kept apart so each
module stays readable.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gis_service.app.pages import service
from gis_service.app.pages.labels import label
from gis_service.app.pages.routes import _actor, _day, _page, _xlsx
from gis_service.app.pages.xlsx import workbook
from gis_service.core.deps import LocaleDep, SessionDep, TownshipDep
from gis_service.core.errors import GridGISError, InvalidInput
from gis_service.core.i18n import N_, translator
from grids.visits.demands import DEMAND_WORKFLOW
from layers.disputes.workflow import DISPUTE_WORKFLOW

router = APIRouter(include_in_schema=False)
NOTE_NEEDED = N_("请填写处理说明")


@router.get("/w/{township}/disputes", response_class=HTMLResponse)
def disputes(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    status: str | None = None,
) -> Response:
    """草场争议 review queue by status, largest overlap first."""
    data = service.disputes_page(session, township=township, status=status or None)
    return _page(
        request,
        "disputes.html",
        township,
        data=data,
        status=status,
        statuses=DISPUTE_WORKFLOW.statuses,
    )


@router.get("/w/{township}/disputes.xlsx")
def disputes_xlsx(
    session: SessionDep,
    township: TownshipDep,
    locale: LocaleDep,
    status: str | None = None,
) -> Response:
    """草场争议台账 as XLSX, in the page's language."""
    _ = translator(locale)
    data = service.disputes_page(session, township=township, status=status or None)
    rows = [
        [
            d.id,
            label("dispute_status", d.status, locale),
            round(d.overlap_area_m2, 1),
            round(d.overlap_area_mu, 2),
            " / ".join(p.contract_no for p in d.parcels),
            " / ".join(
                p.holder.head_name if p.holder else _("未登记") for p in d.parcels
            ),
            _day(d.first_detected_at),
        ]
        for d in data["list"].items
    ]
    book = workbook(
        _("草场争议"),
        [
            _("编号"),
            _("状态"),
            _("重叠面积(m²)"),
            _("重叠面积(亩)"),
            _("合同编号"),
            _("承包户"),
            _("首次发现"),
        ],
        rows,
    )
    return _xlsx(book, f"{_('草场争议')}-{township}.xlsx")


@router.get("/w/{township}/disputes/{dispute_id}", response_class=HTMLResponse)
def dispute(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    dispute_id: int,
    done: bool = False,
) -> Response:
    """One dispute: parcels, holders, areas in m² and 亩, history, next steps."""
    d = service.dispute(session, township=township, dispute_id=dispute_id)
    return _page(request, "dispute.html", township, d=d, done=done, errors={})


@router.post("/w/{township}/disputes/{dispute_id}/move", response_class=HTMLResponse)
def move_dispute(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    dispute_id: int,
    to: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    """Move a dispute one review step with the leader's note."""
    try:
        if not note.strip():
            raise InvalidInput(
                NOTE_NEEDED, errors=[{"field": "note", "reason": NOTE_NEEDED}]
            )
        service.move_dispute(
            session,
            township=township,
            dispute_id=dispute_id,
            to=to,
            note=note.strip(),
            actor=_actor(request),
        )
    except GridGISError as exc:
        session.rollback()
        d = service.dispute(session, township=township, dispute_id=dispute_id)
        return _page(
            request,
            "dispute.html",
            township,
            d=d,
            done=False,
            errors=service.form_errors(exc),
            http_status=exc.status,
        )
    return RedirectResponse(
        f"/w/{township}/disputes/{dispute_id}?done=true", status_code=303
    )


@router.get("/w/{township}/demands", response_class=HTMLResponse)
def demands(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    status: str | None = None,
    overdue_only: bool = False,
) -> Response:
    """诉求台账 with its transitions."""
    rows = service.demands_page(
        session, township=township, status=status or None, overdue_only=overdue_only
    )
    query = urlencode(
        {k: v for k, v in (("status", status), ("overdue_only", overdue_only)) if v}
    )
    return _page(
        request,
        "demands.html",
        township,
        rows=rows,
        status=status,
        overdue_only=overdue_only,
        statuses=DEMAND_WORKFLOW.statuses,
        allowed=DEMAND_WORKFLOW.allowed,
        query=query,
        errors={},
    )


@router.get("/w/{township}/demands.xlsx")
def demands_xlsx(
    session: SessionDep,
    township: TownshipDep,
    locale: LocaleDep,
    status: str | None = None,
    overdue_only: bool = False,
) -> Response:
    """诉求台账 as XLSX, in the page's language."""
    _ = translator(locale)
    rows = service.demands_page(
        session, township=township, status=status or None, overdue_only=overdue_only
    )
    book = workbook(
        _("诉求台账"),
        [
            _("编号"),
            _("农户"),
            _("类别"),
            _("内容"),
            _("状态"),
            _("责任人"),
            _("期限"),
            _("超期天数"),
        ],
        [
            [
                d.id,
                d.household,
                label("demand_category", d.category, locale),
                d.description,
                label("demand_status", d.status, locale),
                d.owner or "",
                d.due_date,
                d.overdue_days,
            ]
            for d in rows
        ],
    )
    return _xlsx(book, f"{_('诉求台账')}-{township}.xlsx")


@router.post("/w/{township}/demands/{demand_id}/move", response_class=HTMLResponse)
def move_demand(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    demand_id: int,
    to: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    """Move a demand one step (办理中, 已办结, 已上报)."""
    try:
        service.move_demand(
            session,
            township=township,
            demand_id=demand_id,
            to=to,
            note=note.strip(),
            actor=_actor(request),
        )
    except GridGISError as exc:
        session.rollback()
        rows = service.demands_page(
            session, township=township, status=None, overdue_only=False
        )
        return _page(
            request,
            "demands.html",
            township,
            rows=rows,
            status=None,
            overdue_only=False,
            statuses=DEMAND_WORKFLOW.statuses,
            allowed=DEMAND_WORKFLOW.allowed,
            query="",
            errors=service.form_errors(exc),
            http_status=exc.status,
        )
    return RedirectResponse(f"/w/{township}/demands", status_code=303)
