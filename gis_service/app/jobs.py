"""Which long jobs exist, what runs them, and the routes to follow them.

The composition root knows the domains, so it registers one handler per job kind
on ``gis_service.core.jobs`` (imports, assignment runs, dispute detection, the
province summary, coverage map renders); each handler calls the same service the
request would, reads in the requester's scope where a user asked for it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from gis_service.core import jobs
from gis_service.core.deps import SessionDep
from gis_service.core.i18n import DEFAULT as DEFAULT_LOCALE
from gis_service.core.settings import get_settings


def _import(
    session: Session, job: jobs.JobInput, progress: jobs.Progress
) -> dict[str, Any]:
    from layers.io.importing import import_file

    params = dict(job.params)
    layer = params.pop("layer")
    name = Path(job.upload_name or "upload").name or "upload"
    with tempfile.TemporaryDirectory(prefix="gridgis-job-") as folder:
        path = Path(folder) / name
        path.write_bytes(job.upload or b"")
        progress("importing")
        return import_file(
            session,
            township=str(job.township),
            layer=layer,
            path=path,
            filename=name,
            progress=lambda stage: progress(stage),
            limits=get_settings().limits,
            **params,
        )


def _assign(
    session: Session, job: jobs.JobInput, progress: jobs.Progress
) -> dict[str, Any]:
    from grids.assignment.service import assign_households

    progress("assigning")
    summary = assign_households(
        session,
        township=str(job.township),
        household_ids=job.params.get("household_ids"),
    )
    return summary.model_dump(mode="json")


def _detect(
    session: Session, job: jobs.JobInput, progress: jobs.Progress
) -> dict[str, Any]:
    from layers.disputes.detect import detect_disputes
    from layers.disputes.schemas import DetectionCreate

    body = DetectionCreate.model_validate(job.params)
    progress("detecting")
    out = detect_disputes(
        session,
        township=str(job.township),
        thresholds=body.thresholds(get_settings().disputes),
        actor=body.actor,
        dry_run=body.dry_run,
    )
    return out.model_dump(mode="json")


@contextmanager
def _as_requester(session: Session, job: jobs.JobInput) -> Iterator[None]:
    """Run a job's reads in its requester's scope (resolved again now): RLS applies."""
    from gis_service.core.auth.models import User
    from gis_service.core.auth.principal import resolve
    from gis_service.core.auth.scope import apply_scope, clear_scope
    from gis_service.core.errors import NotFound

    user = session.get(User, job.params["user_id"])
    if user is None or user.disabled:
        raise NotFound(f"用户 {job.params['user_id']} 已不存在或已停用 (user gone)")
    apply_scope(session, resolve(session, user, via="job"))
    try:
        yield
    finally:
        clear_scope(session)  # the worker reads its ledger as itself again


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _county_summary(
    session: Session, job: jobs.JobInput, progress: jobs.Progress
) -> dict[str, Any]:
    from grids.visits.schemas import CountySummaryOut
    from grids.visits.summary import county_summary

    progress("summarising")
    with _as_requester(session, job):
        rows = county_summary(session, until=_instant(job.params.get("until")))
    return {
        "counties": [
            CountySummaryOut.model_validate(r).model_dump(mode="json") for r in rows
        ]
    }


def _coverage_map(
    session: Session, job: jobs.JobInput, progress: jobs.Progress
) -> tuple[dict[str, Any], jobs.Output]:
    """The coverage map rendered whole: every household in the page, no tiles."""
    from maps.service import coverage_page

    settings, p = get_settings(), job.params
    progress("rendering")
    with _as_requester(session, job):
        page = coverage_page(
            session, township=str(job.township), grid=p.get("grid"),
            settings=settings.map, basemap=p.get("basemap"),
            as_of=_instant(p.get("as_of")), since=_instant(p.get("since")),
            closed_hazards=bool(p.get("closed_hazards")),
            hazard_settings=settings.hazards,
            locale=str(p.get("locale") or DEFAULT_LOCALE),
        )  # fmt: skip
    body = page.encode()
    result = {"bytes": len(body), "output": f"/jobs/{job.job_id}/output"}
    return result, jobs.Output(body, "text/html; charset=utf-8")


def register_handlers() -> None:
    """Make every long job kind runnable (API process and workers alike)."""
    jobs.register("import", _import)
    jobs.register("assign", _assign)
    jobs.register("detect", _detect)
    jobs.register("county_summary", _county_summary)
    jobs.register("coverage_map", _coverage_map)


router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("", response_model=list[jobs.JobOut])
def list_jobs(
    session: SessionDep,
    township: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
) -> list[dict[str, Any]]:
    """The latest jobs, newest first, with status, stage and counts."""
    return jobs.list_jobs(session, township=township, limit=limit)


@router.get("/{job_id}", response_model=jobs.JobOut)
def get_job(session: SessionDep, job_id: int) -> dict[str, Any]:
    """One job: queued, running (stage, counts), succeeded or failed (problem)."""
    return jobs.get_job(session, job_id=job_id)


@router.get(
    "/{job_id}/output",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "description": "the job's file"}},
)
def job_output(session: SessionDep, job_id: int) -> Response:
    """The file a finished job made (a rendered map); 404 while there is none."""
    output = jobs.get_output(session, job_id=job_id)
    return Response(output.body, media_type=output.media_type)
