"""Long jobs on worker processes, on a PostgreSQL queue (procrastinate).

A job is a row of ``jobs`` (what to do, its status, stage and counts, its result
or problem) plus a procrastinate job that names it. ``gridgis worker`` processes,
on any machine that reaches the database, take them one at a time. The work
itself is a domain service that is already all-or-nothing, so a worker killed
half-way leaves nothing half-written: its job is found stalled (no heartbeat) and
run again by the next worker that starts. Domains stay unaware of the queue: the
composition root registers one handler per kind (``register``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Protocol

import procrastinate
from fastapi import Depends, Header
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, make_url, text
from sqlalchemy.orm import Session

from gis_service.core.db import OWNER_URL, make_engine
from gis_service.core.errors import GridGISError, InvalidInput, NotFound

logger = logging.getLogger(__name__)

QUEUE_SCHEMA = "job_queue"
TASK = "gridgis.run_job"
MAX_ATTEMPTS = 3


class Progress(Protocol):
    """What a handler calls to report where it is."""

    def __call__(
        self, stage: str, *, done: int | None = None, total: int | None = None
    ) -> None:
        """Record the stage (and counts) now, visible to pollers at once."""


@dataclass(frozen=True)
class JobInput:
    """What a handler receives: the township, parameters and any uploaded file."""

    job_id: int
    township: str | None
    params: dict[str, Any]
    upload: bytes | None
    upload_name: str | None


@dataclass(frozen=True)
class Output:
    """A file a job made (a rendered map), served at ``/jobs/{id}/output``."""

    body: bytes
    media_type: str


# a handler answers its result, or its result and a file
Handler = Callable[
    [Session, JobInput, Progress], dict[str, Any] | tuple[dict[str, Any], Output]
]
HANDLERS: dict[str, Handler] = {}


def register(kind: str, handler: Handler) -> None:
    """Make ``kind`` runnable as a job (called by the composition root)."""
    HANDLERS[kind] = handler


# -- the ledger -------------------------------------------------------------------
_INSERT = text(
    """
    INSERT INTO jobs (township_code, kind, params, upload, upload_name, created_by)
    VALUES (:t, :kind, CAST(:params AS jsonb), :upload, :upload_name, :by)
    RETURNING id
    """
)
_COLUMNS = """id, township_code AS township, kind, params, status, stage, progress,
              result, problem, attempts, created_by, created_at, started_at,
              finished_at"""
_GET = text(f"SELECT {_COLUMNS} FROM jobs WHERE id = :id")
_LIST = text(
    f"""
    SELECT {_COLUMNS} FROM jobs
    WHERE (CAST(:t AS text) IS NULL OR township_code = :t)
    ORDER BY id DESC LIMIT :limit
    """
)
_START = text(
    """
    UPDATE jobs SET status = 'running', started_at = now(), attempts = attempts + 1,
                    stage = 'started', problem = NULL
    WHERE id = :id
    RETURNING township_code, params, upload, upload_name
    """
)
_STAGE = text(
    "UPDATE jobs SET stage = :stage, progress = CAST(:progress AS jsonb) WHERE id = :id"
)
_FINISH = text(
    """
    UPDATE jobs SET status = :status, finished_at = now(), stage = :status,
                    result = CAST(:result AS jsonb), problem = CAST(:problem AS jsonb),
                    upload = CASE WHEN :status = 'succeeded' THEN NULL ELSE upload END,
                    output = :output, output_type = :output_type
    WHERE id = :id
    """
)
_OUTPUT = text("SELECT status, output, output_type FROM jobs WHERE id = :id")


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def submit(
    session: Session,
    *,
    url: str,
    kind: str,
    township: str | None,
    params: dict[str, Any] | None = None,
    upload: bytes | None = None,
    upload_name: str | None = None,
    created_by: str | None = None,
) -> dict[str, Any]:
    """Record a job and queue it; returns the job (status ``queued``)."""
    if kind not in HANDLERS:
        raise InvalidInput(f"unknown job kind {kind!r}", errors=[{"field": "kind"}])
    job_id = session.execute(
        _INSERT,
        {
            "t": township,
            "kind": kind,
            "params": json.dumps(params or {}, default=str),
            "upload": upload,
            "upload_name": upload_name,
            "by": created_by,
        },
    ).scalar_one()
    session.commit()  # the worker must see the row before it sees the queue entry
    with queue_app(url).open() as app:
        app.configure_task(TASK).defer(job_id=int(job_id))
    return get_job(session, job_id=int(job_id))


def get_job(session: Session, *, job_id: int) -> dict[str, Any]:
    """One job's status, stage, counts and result (or problem)."""
    row = session.execute(_GET, {"id": job_id}).first()
    if row is None:
        raise NotFound(f"job {job_id} not found")
    return _row(row)


def get_output(session: Session, *, job_id: int) -> Output:
    """The file a finished job made; 404 while there is none (yet)."""
    row = session.execute(_OUTPUT, {"id": job_id}).first()
    if row is None:
        raise NotFound(f"job {job_id} not found")
    if row.output is None:
        raise NotFound(
            f"job {job_id} has no file"
            + (" yet" if row.status in ("queued", "running") else ""),
            errors=[{"field": "job_id", "reason": f"status {row.status}"}],
        )
    return Output(bytes(row.output), row.output_type or "application/octet-stream")


def list_jobs(
    session: Session, *, township: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The latest jobs, newest first (of one township, or all)."""
    return [_row(r) for r in session.execute(_LIST, {"t": township, "limit": limit})]


# -- the queue --------------------------------------------------------------------
def _conninfo(url: str) -> str:
    """A libpq URI for psycopg 3 from a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(False)


@cache
def queue_app(url: str) -> procrastinate.App:
    """The procrastinate app on the GridGIS database (its own schema)."""
    connector = procrastinate.PsycopgConnector(
        conninfo=_conninfo(url),
        kwargs={"options": f"-c search_path={QUEUE_SCHEMA}"},
    )
    app = procrastinate.App(connector=connector)
    app.task(
        name=TASK,
        retry=procrastinate.RetryStrategy(max_attempts=MAX_ATTEMPTS, wait=2),
        pass_context=True,
    )(_run_job)
    return app


@cache
def _engine(url: str) -> Engine:
    return make_engine(url)


def _run_job(context: procrastinate.JobContext, job_id: int) -> None:
    """The one task: run the job's handler, record the outcome."""
    url = context.additional_context["gridgis_url"]
    run_job_now(_engine(url), job_id)


def run_job_now(engine: Engine, job_id: int) -> dict[str, Any]:
    """Run job ``job_id`` here (a worker, or a test); returns its final row."""
    with Session(engine) as session:
        row = session.execute(_START, {"id": job_id}).first()
        session.commit()
        if row is None:
            raise NotFound(f"job {job_id} not found")
        job = get_job(session, job_id=job_id)
        handler = HANDLERS[job["kind"]]
        work = JobInput(
            job_id, row.township_code, row.params, row.upload, row.upload_name
        )

        def progress(
            stage: str, *, done: int | None = None, total: int | None = None
        ) -> None:
            counts = {
                k: v for k, v in (("done", done), ("total", total)) if v is not None
            }
            with engine.begin() as conn:  # its own transaction: visible at once
                conn.execute(
                    _STAGE,
                    {"id": job_id, "stage": stage, "progress": json.dumps(counts)},
                )

        try:
            answer = handler(session, work, progress)
            result, output = answer if isinstance(answer, tuple) else (answer, None)
        except GridGISError as exc:  # bad input: running it again changes nothing
            session.rollback()
            _finish(engine, job_id, "failed", problem=exc.to_problem())
        except Exception:
            session.rollback()
            _finish(engine, job_id, "queued", problem={"title": "retrying"})
            raise  # procrastinate retries it (RetryStrategy)
        else:
            _finish(engine, job_id, "succeeded", result=result, output=output)
        return get_job(session, job_id=job_id)


def _finish(
    engine: Engine,
    job_id: int,
    status: str,
    *,
    result: dict[str, Any] | None = None,
    problem: dict[str, Any] | None = None,
    output: Output | None = None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            _FINISH,
            {
                "id": job_id,
                "status": status,
                "result": json.dumps(result, default=str)
                if result is not None
                else None,
                "problem": json.dumps(problem, default=str) if problem else None,
                "output": output.body if output else None,
                "output_type": output.media_type if output else None,
            },
        )


def run_worker(url: str, *, concurrency: int = 1, stalled_after_s: float = 30) -> None:
    """Work on the queue until stopped; first re-run jobs of workers that died."""
    app = queue_app(url)

    async def work() -> None:
        async with app.open_async():
            stalled = await app.job_manager.get_stalled_jobs(
                seconds_since_heartbeat=stalled_after_s
            )
            for job in stalled:
                logger.warning("job %s of a dead worker runs again", job.id)
                await app.job_manager.retry_job(job)
            await app.run_worker_async(
                concurrency=concurrency,
                additional_context={"gridgis_url": url},
                update_heartbeat_interval=max(0.5, stalled_after_s / 4),
                stalled_worker_timeout=stalled_after_s,
            )

    asyncio.run(work())


# -- HTTP: "Prefer: respond-async" turns a long request into a job ------------------
def wants_async(
    prefer: Annotated[
        str | None,
        Header(description="respond-async: run as a job, answer 202 with its URL"),
    ] = None,
) -> bool:
    """RFC 7240: the client would rather have a job than wait for the answer."""
    return "respond-async" in (prefer or "").lower()


AsyncDep = Annotated[bool, Depends(wants_async)]


class JobOut(BaseModel):
    """A long job: status, stage and counts, then its result or its problem."""

    id: int
    township: str | None
    kind: str
    params: dict[str, Any]
    status: str = Field(description="queued, running, succeeded or failed")
    stage: str | None
    progress: dict[str, Any]
    result: dict[str, Any] | None
    problem: dict[str, Any] | None
    attempts: int
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"model": JobOut, "description": "Queued as a job; poll the Location"}
}


def database_url(session: Session) -> str:
    """The owner's URL on the primary this session writes to (workers log in so).

    A request's session logs in as the service; its workers run as the owner, as
    the admin-only long runs always did (a summary job takes its user's scope).
    """
    owner: str | None = session.info.get(OWNER_URL)
    if owner:
        return owner
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    return engine.url.render_as_string(hide_password=False)


def accept(session: Session, **job: Any) -> JSONResponse:
    """Queue a job for a request that asked ``respond-async``; 202 with its URL.

    ``job``: ``submit``'s keywords but the URL (the primary this session uses).
    """
    return accepted(submit(session, url=database_url(session), **job))


def accepted(job: dict[str, Any]) -> JSONResponse:
    """202 Accepted with the job and where to follow it."""
    return JSONResponse(
        status_code=202,
        content=jsonable_encoder(job),
        headers={
            "Location": f"/jobs/{job['id']}",
            "Preference-Applied": "respond-async",
        },
    )
