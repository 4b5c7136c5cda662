"""HTTP routes of visits, demands and coverage (parse, call, answer)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request

from gis_service.core import jobs
from gis_service.core.auth.deps import CurrentUser
from gis_service.core.columns import parse_field_map
from gis_service.core.deps import PageDep, SessionDep, TownshipDep
from gis_service.core.inputs import Day, Instant, RowId
from gis_service.core.pages import Page
from grids.visits import coverage, demands, summary
from grids.visits import log as visits
from grids.visits.schemas import (
    Category,
    ClosureReport,
    CountySummaryOut,
    CoverageReport,
    DemandCreate,
    DemandEventOut,
    DemandOut,
    DemandTransition,
    RuleSet,
    Status,
    UncoveredOut,
    VisitBatchOut,
    VisitCreate,
    VisitOut,
)

router = APIRouter(prefix="/townships/{township}")
province_router = APIRouter(prefix="/summary", tags=["coverage"])


@province_router.get(
    "/counties", response_model=list[CountySummaryOut], responses=jobs.ACCEPTED
)
def county_summary(
    session: SessionDep,
    user: CurrentUser,
    until: Instant | None = None,
    background: jobs.AsyncDep = False,
) -> Any:
    """Coverage and closure rates (办结率) of every county in scope."""
    if background:  # every township at once: a province's takes seconds
        # the worker summarises in this user's scope, as the request would
        params = {"until": until.isoformat() if until else None, "user_id": user.id}
        return jobs.accept(
            session,
            kind="county_summary",
            township=None,
            params=params,
            created_by=user.username,
        )
    return summary.county_summary(session, until=until)


FarM = Annotated[
    float, Query(gt=0, description="GPS fix farther than this (m) is flagged")
]


async def raw_body(request: Request) -> bytes:
    """The request body as bytes (CSV or JSON batches)."""
    return await request.body()


# -- visits -------------------------------------------------------------------------
@router.post("/visits", status_code=201, tags=["visits"])
def record_visit(
    session: SessionDep, township: TownshipDep, visit: VisitCreate, far_m: FarM = 300
) -> VisitOut:
    """Record one visit (and the demands it raises)."""
    return visits.record_visit(session, township=township, visit=visit, far_m=far_m)


@router.post(
    "/visits/batch",
    status_code=201,
    tags=["visits"],
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {}}},
            }
        }
    },
)
def import_visits(
    session: SessionDep,
    township: TownshipDep,
    body: Annotated[bytes, Depends(raw_body)],
    content_type: Annotated[str, Header()] = "application/json",
    far_m: FarM = 300,
    field_map: Annotated[
        list[str] | None,
        Query(description="TARGET=SOURCE, e.g. household=农户编码 (repeatable)"),
    ] = None,
    encoding: Annotated[
        str | None, Query(description="the CSV's encoding (default: detected)")
    ] = None,
) -> VisitBatchOut:
    """Record a day's visits from CSV or a JSON list: all or nothing, bad rows named."""
    return visits.import_visits(
        session, township=township, content=body, media_type=content_type,
        far_m=far_m, field_map=parse_field_map(field_map), encoding=encoding,
    )  # fmt: skip


@router.get("/visits", tags=["visits"])
def list_visits(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    page: PageDep,
    household: str | None = None,
    cadre: str | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
    far_only: bool = False,
    far_m: FarM = 300,
) -> Page[VisitOut]:
    """Visits newest first; ``far_only`` lists those probably not made on site."""
    return visits.list_visits(
        session, township=township, household=household, cadre=cadre, since=since,
        until=until, far_only=far_only, far_m=far_m, limit=page.limit,
        offset=page.offset, url=str(request.url),
    )  # fmt: skip


# -- demands ------------------------------------------------------------------------
@router.post("/demands", status_code=201, tags=["demands"])
def create_demand(
    session: SessionDep, township: TownshipDep, demand: DemandCreate
) -> DemandOut:
    """Record a demand (诉求) of a household."""
    return demands.create_demand(session, township=township, demand=demand)


@router.get("/demands", tags=["demands"])
def list_demands(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    page: PageDep,
    status: Status | None = None,
    category: Category | None = None,
    owner: str | None = None,
    grid: str | None = None,
    overdue: bool = False,
    as_of: Day | None = None,
) -> Page[DemandOut]:
    """The demand ledger, most overdue first; ``overdue=true`` is the overdue list."""
    return demands.list_demands(
        session, township=township, status=status, category=category, owner=owner,
        grid=grid, overdue_only=overdue, as_of=as_of, limit=page.limit,
        offset=page.offset, url=str(request.url),
    )  # fmt: skip


@router.get("/demands/closure", tags=["demands"])
def closure_report(
    session: SessionDep,
    township: TownshipDep,
    since: Instant | None = None,
    until: Instant | None = None,
    as_of: Day | None = None,
) -> ClosureReport:
    """Demands collected/resolved and closure rate: township and each grid subtree."""
    return demands.closure_report(
        session, township=township, since=since, until=until, as_of=as_of
    )


@router.get("/demands/{demand_id}", tags=["demands"])
def get_demand(
    session: SessionDep, township: TownshipDep, demand_id: RowId
) -> DemandOut:
    """One demand."""
    return demands.get_demand(session, township=township, demand_id=demand_id)


@router.post("/demands/{demand_id}/transitions", tags=["demands"])
def transition_demand(
    session: SessionDep,
    township: TownshipDep,
    demand_id: RowId,
    change: DemandTransition,
) -> DemandOut:
    """Move a demand open → in_progress → resolved (or escalated); 409 if illegal."""
    return demands.transition_demand(
        session, township=township, demand_id=demand_id, change=change
    )


@router.get("/demands/{demand_id}/events", tags=["demands"])
def demand_history(
    session: SessionDep, township: TownshipDep, demand_id: RowId
) -> list[DemandEventOut]:
    """The status history of a demand."""
    return demands.demand_history(session, township=township, demand_id=demand_id)


# -- coverage -----------------------------------------------------------------------
@router.get("/visit-rules", tags=["coverage"])
def get_rules(session: SessionDep, township: TownshipDep) -> RuleSet:
    """Visit-frequency rules (days between visits) by tag and for everyone."""
    return coverage.load_rules(session, township=township)


@router.put("/visit-rules", tags=["coverage"])
def set_rules(session: SessionDep, township: TownshipDep, rules: RuleSet) -> RuleSet:
    """Replace the visit-frequency rules."""
    return coverage.set_rules(session, township=township, rules=rules)


@router.get("/coverage/grids", tags=["coverage"])
def coverage_by_grid(
    session: SessionDep,
    township: TownshipDep,
    since: Instant | None = None,
    until: Instant | None = None,
    grid: str | None = None,
) -> CoverageReport:
    """Households visited in the period and up to date, per grid (rolled up)."""
    return coverage.coverage_by_grid(
        session, township=township, since=since, until=until, grid=grid
    )


@router.get("/coverage/cadres", tags=["coverage"])
def coverage_by_cadre(
    session: SessionDep,
    township: TownshipDep,
    since: Instant | None = None,
    until: Instant | None = None,
    cadre: str | None = None,
    far_m: FarM = 300,
) -> CoverageReport:
    """Coverage of each cadre's households, visits made and far GPS fixes."""
    return coverage.coverage_by_cadre(
        session, township=township, since=since, until=until, cadre=cadre, far_m=far_m
    )


@router.get("/coverage/uncovered", tags=["coverage"])
def uncovered_households(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    page: PageDep,
    as_of: Instant | None = None,
    grid: str | None = None,
    cadre: str | None = None,
) -> Page[UncoveredOut]:
    """Households never visited or overdue, most overdue first, with their cadre."""
    return coverage.uncovered_households(
        session, township=township, as_of=as_of, grid=grid, cadre=cadre,
        limit=page.limit, offset=page.offset, url=str(request.url),
    )  # fmt: skip
