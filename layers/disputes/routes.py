"""HTTP routes of pasture disputes (parse, call one service, answer)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request

from gis_service.core import jobs
from gis_service.core.deps import PageDep, SessionDep, SettingsDep, TownshipDep
from gis_service.core.inputs import RowId
from gis_service.core.pages import GeoJSONResponse
from layers.disputes import review as dispute_review
from layers.disputes.detect import detect_disputes
from layers.disputes.schemas import (
    DetectionCreate,
    DetectionOut,
    DisputeDetailOut,
    DisputeFeatures,
    DisputeList,
    DisputeSummaryOut,
    FindingKind,
    FindingList,
    TransitionCreate,
)
from layers.models import DISPUTE_STATUSES

router = APIRouter(prefix="/townships/{township}/disputes", tags=["disputes"])

StatusQuery = Annotated[
    Literal["open", "mediating", "resolved", "dismissed", "closed"] | None,
    Query(description=f"one of {', '.join(DISPUTE_STATUSES)}"),
]


@router.post("/detect", response_model=DetectionOut, responses=jobs.ACCEPTED)
def run_detection(
    session: SessionDep,
    township: TownshipDep,
    settings: SettingsDep,
    body: Annotated[DetectionCreate, Body()] = DetectionCreate(),
    background: jobs.AsyncDep = False,
) -> Any:
    """Detect overlaps and reconcile the township's dispute records."""
    if background:
        params = body.model_dump(mode="json", exclude_unset=True)
        return jobs.accept(session, kind="detect", township=township, params=params)
    return detect_disputes(
        session,
        township=township,
        thresholds=body.thresholds(settings.disputes),
        actor=body.actor,
        dry_run=body.dry_run,
    )


@router.get("", response_model=DisputeList)
def list_disputes(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    page: PageDep,
    status: StatusQuery = None,
    grid: Annotated[
        str | None, Query(description="grid code; its sub-grids are included")
    ] = None,
    min_area_m2: Annotated[float | None, Query(ge=0)] = None,
) -> DisputeList:
    """Disputes, largest overlap first, by status, grid of a holder, minimum area."""
    return dispute_review.list_disputes(
        session,
        township=township,
        status=status,
        grid=grid,
        min_area_m2=min_area_m2,
        limit=page.limit,
        offset=page.offset,
        url=str(request.url),
    )


@router.get("/summary", response_model=DisputeSummaryOut)
def summary(session: SessionDep, township: TownshipDep) -> DisputeSummaryOut:
    """Open disputes and the contested area (mu) of the township."""
    return dispute_review.dispute_summary(session, township=township)


@router.get("/findings", response_model=FindingList)
def findings(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    page: PageDep,
    kind: FindingKind | None = None,
) -> FindingList:
    """Data-quality findings of the latest run: slivers, self-overlaps, ..."""
    return dispute_review.list_findings(
        session,
        township=township,
        kind=kind,
        limit=page.limit,
        offset=page.offset,
        url=str(request.url),
    )


@router.get(
    "/{dispute_id:int}", response_class=GeoJSONResponse, response_model=DisputeFeatures
)
def dispute_detail(
    session: SessionDep, township: TownshipDep, dispute_id: RowId
) -> GeoJSONResponse:
    """A dispute as GeoJSON: both parcels and the overlap, the record as a member."""
    body: dict[str, Any] = dispute_review.dispute_geojson(
        session, township=township, dispute_id=dispute_id
    )
    return GeoJSONResponse(body)


@router.post("/{dispute_id:int}/transitions", response_model=DisputeDetailOut)
def transition(
    session: SessionDep,
    township: TownshipDep,
    dispute_id: RowId,
    body: TransitionCreate,
) -> DisputeDetailOut:
    """Move a dispute one review step (409 when the step is not allowed)."""
    return dispute_review.transition_dispute(
        session,
        township=township,
        dispute_id=dispute_id,
        to_status=body.to,
        actor=body.actor,
        note=body.note,
    )
