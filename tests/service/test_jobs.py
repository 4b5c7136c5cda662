"""Long jobs on real worker processes: 202 + job URL, progress, crash and retry."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from gis_service.app.main import create_app
from gis_service.core import jobs
from gis_service.core.db import make_engine
from tests.conftest import app_settings, bearer_for
from tests.factories import TOWNSHIP, make_township

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import sys
from gis_service.app.jobs import register_handlers
from gis_service.core import jobs
from tests.service.test_jobs import slow
register_handlers()
jobs.register("slow", slow)
jobs.run_worker(sys.argv[1], stalled_after_s=2)
"""


def slow(
    session: Session, job: jobs.JobInput, progress: jobs.Progress
) -> dict[str, Any]:
    """Writes 100 households, then on its first attempt hangs (to be killed)."""
    attempt = session.execute(
        text("SELECT attempts FROM jobs WHERE id = :i"), {"i": job.job_id}
    ).scalar_one()
    session.execute(
        text(
            "INSERT INTO households (township_code, code, head_name, members, geom)"
            " SELECT :t, 'S' || g, '户主', 2,"
            " ST_SetSRID(ST_MakePoint(102.5, 37.1), 4326)"
            " FROM generate_series(1, 100) g"
        ),
        {"t": job.township},
    )
    progress("written", done=100, total=100)
    if attempt == 1:
        time.sleep(300)
    session.commit()
    return {"attempt": attempt}


@contextmanager
def worker(url: URL) -> Iterator[subprocess.Popen[bytes]]:
    """``gridgis worker`` (plus the test's slow kind) in a process of its own."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, url.render_as_string(False)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _until(check: Any, seconds: float = 90) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def _households(session: Session) -> int:
    session.rollback()
    return int(session.execute(text("SELECT count(*) FROM households")).scalar_one())


def test_an_import_queued_with_prefer_async_runs_on_a_worker(
    scratch_url: URL, tmp_path: Path
) -> None:
    engine = make_engine(scratch_url.render_as_string(False))
    with Session(engine) as session:
        make_township(session)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [102.5 + i / 1e3, 37.1]},
            "properties": {"code": f"J{i:03d}", "head_name": f"户主{i}", "members": 3},
        }
        for i in range(40)
    ]
    body = json.dumps({"type": "FeatureCollection", "features": features})
    app = create_app(app_settings(scratch_url))
    engine = make_engine(scratch_url.render_as_string(False))
    headers = bearer_for(engine)
    engine.dispose()
    with worker(scratch_url), TestClient(app, headers=headers) as client:
        queued = client.post(
            f"/townships/{TOWNSHIP}/layers/households/import",
            files={"file": ("hh.geojson", body, "application/geo+json")},
            headers={"Prefer": "respond-async"},
        )
        assert queued.status_code == 202, queued.text
        assert queued.headers["Preference-Applied"] == "respond-async"
        location = queued.headers["Location"]
        assert queued.json()["status"] == "queued"

        def finished() -> dict[str, Any] | None:
            job = client.get(location).json()
            return job if job["status"] in ("succeeded", "failed") else None

        job = _until(finished)
        assert job["status"] == "succeeded", job
        assert job["result"]["inserted"] == 40
        assert job["attempts"] == 1
        listed = client.get("/jobs", params={"township": TOWNSHIP}).json()
        assert [j["id"] for j in listed] == [job["id"]]
        assert client.get("/jobs/999999").status_code == 404
    with Session(engine) as session:
        assert _households(session) == 40
        upload = session.execute(text("SELECT upload FROM jobs")).scalar()
        assert upload is None  # the file is dropped once it is imported
    engine.dispose()


def test_a_job_killed_half_way_leaves_nothing_and_runs_again(scratch_url: URL) -> None:
    engine = make_engine(scratch_url.render_as_string(False))
    jobs.register("slow", slow)
    with Session(engine) as session:
        make_township(session)
        job = jobs.submit(
            session,
            url=scratch_url.render_as_string(False),
            kind="slow",
            township=TOWNSHIP,
        )
        with worker(scratch_url) as first:

            def written() -> bool:
                session.rollback()
                return jobs.get_job(session, job_id=job["id"])["stage"] == "written"

            _until(written)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        assert _households(session) == 0  # its transaction died with it
        assert jobs.get_job(session, job_id=job["id"])["status"] == "running"
        time.sleep(3)  # the dead worker's heartbeat grows older than stalled_after
        with worker(scratch_url):

            def done() -> dict[str, Any] | None:
                session.rollback()
                row = jobs.get_job(session, job_id=job["id"])
                return row if row["status"] == "succeeded" else None

            final = _until(done)
        assert final["result"] == {"attempt": 2}
        assert final["attempts"] == 2
        assert _households(session) == 100
    engine.dispose()
