"""``gridgis worker`` and ``gridgis jobs list|show|wait``: long jobs from the CLI."""

from __future__ import annotations

from typing import Annotated

import typer

from gis_service.core.cli import JsonOpt, cli_errors, cli_session, database_url, emit
from gis_service.core.job_cli import follow, job_line

worker_app = typer.Typer()


jobs_app = typer.Typer(help="Long jobs run by gridgis worker.", no_args_is_help=True)


@worker_app.command("worker")
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=32)] = 1,
    stalled_after: Annotated[
        float, typer.Option(min=1, help="seconds without a heartbeat: worker dead")
    ] = 30.0,
) -> None:
    """Run long jobs (imports, assignment, detection) from the queue until stopped."""
    from gis_service.app.jobs import register_handlers
    from gis_service.core.jobs import run_worker

    with cli_errors():
        url = database_url()
    register_handlers()
    run_worker(url, concurrency=concurrency, stalled_after_s=stalled_after)


@jobs_app.command("list")
def jobs_list(
    township: Annotated[str | None, typer.Option("--township", "-t")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The latest jobs, newest first."""
    from gis_service.core.jobs import list_jobs

    with cli_errors(), cli_session() as session:
        rows = list_jobs(session, township=township)
    emit(rows, as_json, lambda rs: "\n".join(map(job_line, rs)) or "no job yet")


@jobs_app.command("show")
def jobs_show(job_id: int, as_json: JsonOpt = False) -> None:
    """One job: status, stage, counts, result or problem."""
    from gis_service.core.jobs import get_job

    with cli_errors(), cli_session() as session:
        emit(get_job(session, job_id=job_id), as_json)


@jobs_app.command("wait")
def jobs_wait(job_id: int, as_json: JsonOpt = False) -> None:
    """Follow a job's stages until it ends; exit 1 if it failed."""
    with cli_errors(), cli_session() as session:
        follow(session, job_id, as_json=as_json)


def register(app: typer.Typer) -> None:
    """Add ``worker`` and ``jobs``; every job kind known (``--detach``/``--wait``)."""
    from gis_service.app.jobs import register_handlers

    register_handlers()
    app.registered_commands += worker_app.registered_commands
    app.add_typer(jobs_app, name="jobs")
