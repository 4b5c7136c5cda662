"""HTTP routes of hazards: the ledger, warn lists, cards, statistics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from gis_service.core.auth.deps import UnmaskDep
from gis_service.core.deps import (
    BBoxDep,
    PageDep,
    SessionDep,
    SettingsDep,
    TownshipDep,
)
from gis_service.core.inputs import Day
from layers.hazards import cards, ledger, stats, warn
from layers.hazards.schemas import (
    CheckCreate,
    HazardDetailOut,
    HazardList,
    HazardStats,
    TransitionCreate,
    WarnList,
)
from layers.hazards.workflow import STATUS_LABELS
from layers.models import (
    HAZARD_KIND_LABELS,
    HAZARD_KINDS,
    HAZARD_SEVERITIES,
    HAZARD_STATUSES,
    MAX_WARN_RADIUS_M,
    MIN_WARN_RADIUS_M,
)

router = APIRouter(prefix="/townships/{township}/hazards", tags=["hazards"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The codes and their Chinese words, exactly what ledger.check_choice takes: the
# schema states the rule, the service keeps its own 422 naming the choices.
Kind = Annotated[
    str | None,
    Query(description="fire 火灾, flood 洪涝, landslide 滑坡, road 道路, "
          "building 房屋, electrical 用电, other 其他",
          json_schema_extra={"enum": [*HAZARD_KINDS, *HAZARD_KIND_LABELS.values()]}),
]  # fmt: skip
Severity = Annotated[
    str | None,
    Query(description="low 低, medium 中, high 高, critical 重大",
          json_schema_extra={"enum": [*HAZARD_SEVERITIES,
                                      *ledger.SEVERITY_LABELS.values()]}),
]  # fmt: skip
Status = Annotated[
    str | None,
    Query(description="found 已排查, rectifying 整改中, closed 已销号",
          json_schema_extra={"enum": [*HAZARD_STATUSES, *STATUS_LABELS.values()]}),
]  # fmt: skip
Grid = Annotated[str | None, Query(description="grid code; its subtree is included")]
Radius = Annotated[
    float | None,
    Query(
        ge=MIN_WARN_RADIUS_M,
        le=MAX_WARN_RADIUS_M,
        description="metres (overrides the hazard's and its kind's radius)",
    ),
]


@router.get("", response_model=HazardList)
def list_hazards(
    session: SessionDep,
    township: TownshipDep,
    settings: SettingsDep,
    page: PageDep,
    status: Status = None,
    kind: Kind = None,
    severity: Severity = None,
    grid: Grid = None,
    cadre: Annotated[str | None, Query(description="responsible cadre code")] = None,
    overdue: Annotated[bool, Query(description="open and past the deadline")] = False,
    open_only: Annotated[bool, Query(alias="open", description="not closed")] = False,
) -> HazardList:
    """Hazards by status, kind, severity, grid subtree, cadre; overdue ones."""
    return ledger.list_hazards(
        session, township=township, settings=settings.hazards, status=status,
        kind=kind, severity=severity, grid=grid, cadre=cadre, overdue=overdue,
        open_only=open_only, limit=page.limit, offset=page.offset,
    )  # fmt: skip


@router.get("/overdue", response_model=HazardList)
def overdue_hazards(
    session: SessionDep, township: TownshipDep, settings: SettingsDep, page: PageDep
) -> HazardList:
    """Open hazards past their rectification deadline (整改逾期)."""
    return ledger.list_hazards(
        session, township=township, settings=settings.hazards, overdue=True,
        limit=page.limit, offset=page.offset,
    )  # fmt: skip


@router.get("/stats", response_model=HazardStats)
def hazard_stats(
    session: SessionDep,
    township: TownshipDep,
    grid: Grid = None,
    kind: Kind = None,
    as_of: Annotated[Day | None, Query()] = None,
) -> HazardStats:
    """Found, rectifying, closed, rate, overdue, median days to close per grid."""
    return stats.hazard_stats(
        session, township=township, grid=grid, kind=kind, as_of=as_of
    )


@router.get("/warn", response_model=WarnList)
def warn_many(
    session: SessionDep,
    township: TownshipDep,
    settings: SettingsDep,
    unmask: UnmaskDep,
    page: PageDep,
    bbox: BBoxDep,
    kind: Kind = None,
    severity: Severity = None,
    grid: Grid = None,
    radius_m: Radius = None,
) -> WarnList:
    """Households to warn around every open hazard of a kind/severity in an area."""
    return warn.warn_list(
        session, township=township, settings=settings.hazards, kind=kind,
        severity=severity, grid=grid, bbox=bbox, radius_m=radius_m,
        limit=page.limit, offset=page.offset, unmask=unmask,
    )  # fmt: skip


@router.get(
    "/warn.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}}
)
def warn_many_xlsx(
    session: SessionDep,
    township: TownshipDep,
    settings: SettingsDep,
    unmask: UnmaskDep,
    bbox: BBoxDep,
    kind: Kind = None,
    severity: Severity = None,
    grid: Grid = None,
    radius_m: Radius = None,
) -> Response:
    """The warn list of open hazards as an XLSX workbook (Chinese headers)."""
    body = cards.warn_xlsx(
        session, township=township, settings=settings.hazards, kind=kind,
        severity=severity, grid=grid, bbox=bbox, radius_m=radius_m, unmask=unmask,
    )  # fmt: skip
    return _xlsx(body, f"{township}-warn.xlsx")


@router.get("/{code}", response_model=HazardDetailOut)
def show_hazard(
    session: SessionDep, township: TownshipDep, settings: SettingsDep, code: str
) -> HazardDetailOut:
    """A hazard with its geometry, grid(s), cadre and every step."""
    return ledger.get_hazard(
        session, township=township, code=code, settings=settings.hazards
    )


@router.post("/{code}/transitions", response_model=HazardDetailOut)
def move_hazard(
    session: SessionDep,
    township: TownshipDep,
    settings: SettingsDep,
    code: str,
    body: TransitionCreate,
) -> HazardDetailOut:
    """One ledger step (409 naming the allowed ones; closing needs a note)."""
    return ledger.move_hazard(
        session, township=township, code=code, to=body.to, actor=body.actor,
        note=body.note, attachments=body.attachments, settings=settings.hazards,
    )  # fmt: skip


@router.post("/{code}/checks", response_model=HazardDetailOut)
def check_hazard(
    session: SessionDep,
    township: TownshipDep,
    settings: SettingsDep,
    code: str,
    body: CheckCreate,
) -> HazardDetailOut:
    """Record a re-check (复查) of an open hazard."""
    return ledger.check_hazard(
        session, township=township, code=code, actor=body.actor, note=body.note,
        attachments=body.attachments, settings=settings.hazards,
    )  # fmt: skip


@router.get("/{code}/warn", response_model=WarnList)
def warn_one(
    session: SessionDep,
    township: TownshipDep,
    settings: SettingsDep,
    unmask: UnmaskDep,
    page: PageDep,
    code: str,
    radius_m: Radius = None,
) -> WarnList:
    """Households to warn around one hazard, priority households first."""
    return warn.warn_list(
        session, township=township, settings=settings.hazards, code=code,
        radius_m=radius_m, limit=page.limit, offset=page.offset, unmask=unmask,
    )  # fmt: skip


@router.get(
    "/{code}/warn.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def warn_one_xlsx(
    session: SessionDep,
    township: TownshipDep,
    settings: SettingsDep,
    unmask: UnmaskDep,
    code: str,
    radius_m: Radius = None,
) -> Response:
    """The warn list of one hazard as an XLSX workbook (Chinese headers)."""
    body = cards.warn_xlsx(
        session, township=township, settings=settings.hazards, code=code,
        radius_m=radius_m, unmask=unmask,
    )  # fmt: skip
    return _xlsx(body, f"{township}-{code}-warn.xlsx")


@router.get("/{code}/cards", response_class=HTMLResponse)
def warn_cards(
    session: SessionDep,
    township: TownshipDep,
    settings: SettingsDep,
    unmask: UnmaskDep,
    code: str,
    radius_m: Radius = None,
) -> HTMLResponse:
    """Printable 转移避险明白卡, one per household at risk."""
    page = cards.cards_page(
        session, township=township, settings=settings.hazards, code=code,
        radius_m=radius_m, unmask=unmask,
    )  # fmt: skip
    return HTMLResponse(page)


def _xlsx(body: bytes, name: str) -> Response:
    """A workbook download (the name is ASCII: township and hazard codes)."""
    safe = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in name
    )
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )
