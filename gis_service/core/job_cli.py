"""A long command as a job from the CLI: ``--detach`` queues it, ``--wait`` follows it.

``gridgis import``, ``gridgis assign`` and ``gridgis disputes detect`` run inline by
default (small inputs, no worker needed); with ``--detach`` or ``--wait`` they
queue the same job the API queues for ``Prefer: respond-async``, to be run by a
``gridgis worker``. ``follow`` is also ``gridgis jobs wait``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from gis_service.core import jobs
from gis_service.core.cli import cli_errors, cli_session, database_url, emit, fail

DetachOpt = Annotated[
    bool,
    typer.Option(
        "--detach",
        help="交给 gridgis worker 运行：排队后打印作业编号即退出 "
        "(queue as a job, print its id, exit)",
    ),
]
WaitOpt = Annotated[
    bool,
    typer.Option(
        "--wait",
        help="交给 gridgis worker 运行并显示进度直到结束，失败时退出码 1 "
        "(queue as a job and follow it)",
    ),
]
DONE = ("succeeded", "failed")
STATUS_WORDS = {"queued": "排队中", "running": "运行中", "succeeded": "已完成",
                "failed": "失败"}  # fmt: skip
BAR = 20


def job_line(job: dict[str, Any]) -> str:
    """One line: id, kind, township, status, stage and a bar of the counts."""
    counts = job.get("progress") or {}
    done, total = counts.get("done"), counts.get("total")
    if total:
        filled = min(BAR, round(BAR * int(done or 0) / int(total)))
        bar = f" [{'#' * filled}{'-' * (BAR - filled)}] {done or 0}/{total}"
    elif done is not None:
        bar = f" {done}"
    else:
        bar = ""
    status = job["status"]
    return (
        f"#{job['id']}  {job['kind']}  {job.get('township') or '-'}  "
        f"{STATUS_WORDS.get(status, status)} ({status})  {job.get('stage') or ''}{bar}"
    )


def follow(
    session: Session,
    job_id: int,
    *,
    as_json: bool,
    render: Callable[[Any], str] | None = None,
    poll_s: float = 0.5,
) -> dict[str, Any]:
    """Poll the job until it ends (a progress line per change, on stderr).

    Then print it, exit 1 if it failed. With ``render`` (a command's own summary)
    a success prints the result as the inline command would.
    """
    last = None
    overwrite = sys.stderr.isatty() and not as_json
    while True:
        job = jobs.get_job(session, job_id=job_id)
        session.rollback()  # a fresh snapshot on the next read
        line = job_line(job)
        if line != last and not as_json:
            typer.echo(f"\r\x1b[2K{line}" if overwrite else line, nl=not overwrite,
                       err=True)  # fmt: skip
            last = line
        if job["status"] in DONE:
            break
        time.sleep(poll_s)
    if overwrite:
        typer.echo("", err=True)
    if job["status"] == "failed":
        problem = job.get("problem") or {}
        if as_json:  # a command prints its problem, as inline; jobs wait the job
            emit(job if render is None else problem, True)
        else:
            typer.echo(f"error: {problem.get('detail') or problem}", err=True)
        raise typer.Exit(1)
    if render is None:
        emit(job, as_json)
    else:
        emit(job["result"], as_json, render)
    return job


def run_as_job(
    *,
    kind: str,
    township: str | None,
    params: dict[str, Any],
    wait: bool,
    as_json: bool,
    render: Callable[[Any], str] | None = None,
    upload: bytes | None = None,
    upload_name: str | None = None,
) -> dict[str, Any]:
    """Queue ``kind`` as the API would; ``wait``: follow it, else say how to."""
    with cli_errors(), cli_session() as session:
        job = jobs.submit(
            session,
            url=database_url(),
            kind=kind,
            township=township,
            params=params,
            upload=upload,
            upload_name=upload_name,
        )
        if wait:
            return follow(session, int(job["id"]), as_json=as_json, render=render)
    if as_json:
        emit(job, True)
    else:
        typer.echo(
            f"作业 #{job['id']} 已排队 (job queued): /jobs/{job['id']}\n"
            f"由 gridgis worker 运行；跟随进度 (follow): gridgis jobs wait {job['id']}"
        )
    return job


def one_mode(detach: bool, wait: bool) -> bool:
    """Whether to queue a job; ``--detach`` and ``--wait`` exclude each other."""
    if detach and wait:
        fail("--detach 与 --wait 只能选一个 (choose --detach or --wait)")
    return detach or wait
