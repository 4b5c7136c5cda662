"""HTTP routes of the grids package (parse, call one service, answer)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, Field

from gis_service.core import jobs
from gis_service.core.deps import PageDep, SessionDep, TownshipDep
from gis_service.core.inputs import RowId
from gis_service.core.pages import GeoJSONResponse
from grids.assignment import integrity, redraw, reports
from grids.assignment import service as assignment
from grids.assignment.schemas import (
    AssignmentSummary,
    CadreLoad,
    GridRollup,
    RedrawIn,
    RedrawOut,
    UnassignedPage,
)
from grids.tree import hierarchy
from grids.tree.schemas import GridChecksOut, IntegrityOut

router = APIRouter(prefix="/townships/{township}", tags=["assignment"])

MinWidth = Annotated[
    float, Query(gt=0, le=1000, description="slivers/near-gaps narrower than this (m)")
]


class RunIn(BaseModel):
    """Optional scope of a re-run."""

    household_ids: list[RowId] | None = Field(
        default=None,
        description="only these households (and their grids); all if omitted",
    )


@router.post(
    "/assignment/run", response_model=AssignmentSummary, responses=jobs.ACCEPTED
)
def run_assignment(
    session: SessionDep,
    township: TownshipDep,
    body: Annotated[RunIn | None, Body()] = None,
    background: jobs.AsyncDep = False,
) -> Any:
    """Re-run household -> grid -> cadre assignment and summarise what changed."""
    ids = body.household_ids if body else None
    if background:
        params = {"household_ids": ids}
        return jobs.accept(session, kind="assign", township=township, params=params)
    return assignment.assign_households(session, township=township, household_ids=ids)


@router.get("/assignment/grids", response_model=list[GridRollup])
def assignment_by_grid(session: SessionDep, township: TownshipDep) -> list[GridRollup]:
    """Per grid, rolled up the tree: households, people, tags, cadres, shortfall."""
    return reports.grid_rollup(session, township=township)


@router.get("/assignment/cadres", response_model=list[CadreLoad])
def assignment_by_cadre(session: SessionDep, township: TownshipDep) -> list[CadreLoad]:
    """Each cadre's load against capacity."""
    return reports.cadre_loads(session, township=township)


@router.get(
    "/assignment/unassigned",
    response_model=UnassignedPage,
    response_class=GeoJSONResponse,
)
def unassigned(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    page: PageDep,
    reason: Annotated[reports.Reason | None, Query()] = None,
) -> dict[str, Any]:
    """Households without a cadre, with the reason (GeoJSON)."""
    return reports.unassigned_collection(
        session,
        township=township,
        reason=reason,
        limit=page.limit,
        offset=page.offset,
        url=str(request.url),
    )


@router.get("/grids/checks", tags=["grids"], response_model=GridChecksOut)
def check_grids(
    session: SessionDep, township: TownshipDep, min_width_m: MinWidth = 5.0
) -> dict[str, Any]:
    """Grid hierarchy faults: sibling overlaps, children outside, gaps, slivers."""
    return hierarchy.hierarchy_report(
        session, township=township, min_width_m=min_width_m
    )


@router.get("/integrity", tags=["grids"], response_model=IntegrityOut)
def integrity_report(
    session: SessionDep, township: TownshipDep, min_width_m: MinWidth = 5.0
) -> dict[str, Any]:
    """Polygon and point faults together: grids, households, cadres."""
    return integrity.integrity_report(
        session, township=township, min_width_m=min_width_m
    )


@router.post("/grids/redraw/preview", tags=["grids"], response_model=RedrawOut)
def preview_redraw(
    session: SessionDep, township: TownshipDep, body: RedrawIn
) -> RedrawOut:
    """Households and cadres whose assignment a grid redraw would change (not saved)."""
    return redraw.redraw_grids(session, township=township, redraw=body, save=False)


@router.post("/grids/redraw", tags=["grids"], response_model=RedrawOut)
def save_redraw(
    session: SessionDep, township: TownshipDep, body: RedrawIn
) -> RedrawOut:
    """Save new grid outlines and apply exactly the previewed reassignment."""
    return redraw.redraw_grids(session, township=township, redraw=body, save=True)
