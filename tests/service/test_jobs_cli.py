"""``--detach`` and ``--wait`` on gridgis import, assign and disputes detect.

``--detach`` queues the same job the API queues and exits with its id; ``--wait``
queues it and follows it (a progress line per stage, then the command's own
summary), exit 1 when the job fails. A thread plays the worker here
(``jobs.run_job_now``, the function a worker runs); test_jobs.py runs real ones.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gis_service.app.cli import app
from gis_service.core import jobs
from gis_service.core.db import make_engine
from gis_service.core.job_cli import job_line
from tests.factories import TOWNSHIP
from tests.layers.factories_disputes import make_pasture


@pytest.fixture
def cli_url(scratch_url: URL, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = scratch_url.render_as_string(hide_password=False)
    engine = make_engine(url)
    with Session(engine) as session:
        make_pasture(session)
    engine.dispose()
    monkeypatch.setenv("GRIDGIS_DATABASE_URL", url)
    yield url


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@contextmanager
def thread_worker(url: str) -> Iterator[list[str]]:
    """Run each queued job in a thread, as ``gridgis worker`` would; yields the
    stages the jobs reported, in order."""
    engine = make_engine(url)
    stop = threading.Event()
    stages: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def heard(_c: Any, _cur: Any, sql: str, params: Any, _x: Any, _m: bool) -> None:
        if sql.startswith("UPDATE jobs SET stage"):
            stages.append(params["stage"])

    def work() -> None:
        while not stop.is_set():
            with engine.connect() as conn:
                queued = conn.execute(
                    text("SELECT id FROM jobs WHERE status = 'queued' ORDER BY id")
                ).scalars().all()  # fmt: skip
            for job_id in queued:
                jobs.run_job_now(engine, int(job_id))
            stop.wait(0.2)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        yield stages
    finally:
        stop.set()
        thread.join(timeout=30)
        engine.dispose()


def _jobs(url: str) -> list[dict[str, object]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, kind, township_code, status, params FROM jobs ORDER BY id")
        ).mappings().all()  # fmt: skip
    engine.dispose()
    return [dict(r) for r in rows]


def test_detach_queues_the_job_and_exits_with_its_id(cli_url: str) -> None:
    code, out, _ = run("assign", "-t", TOWNSHIP, "--detach")
    assert code == 0, out
    [job] = _jobs(cli_url)
    assert (job["kind"], job["township_code"], job["status"]) == (
        "assign", TOWNSHIP, "queued",
    )  # fmt: skip
    assert f"作业 #{job['id']} 已排队" in out
    assert f"/jobs/{job['id']}" in out
    assert f"gridgis jobs wait {job['id']}" in out

    code, out, _ = run("disputes", "detect", "-t", TOWNSHIP, "--detach", "--json",
                       "--min-width-m", "3", "--actor", "张三")  # fmt: skip
    assert code == 0, out
    queued = json.loads(out)
    assert queued["status"] == "queued" and queued["kind"] == "detect"
    assert queued["params"] == {"min_width_m": 3.0, "actor": "张三", "dry_run": False}
    assert len(_jobs(cli_url)) == 2  # nothing ran inline
    engine = make_engine(cli_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM disputes")).scalar() == 0
    engine.dispose()


def test_detach_and_wait_together_are_refused(cli_url: str) -> None:
    code, _, err = run("assign", "-t", TOWNSHIP, "--detach", "--wait")
    assert code == 1
    assert "--detach 与 --wait 只能选一个" in err
    assert _jobs(cli_url) == []


def test_wait_follows_detection_and_prints_its_summary(cli_url: str) -> None:
    with thread_worker(cli_url):
        code, out, err = run("disputes", "detect", "-t", TOWNSHIP, "--wait",
                             "--actor", "张三")  # fmt: skip
    assert code == 0, out + err
    assert out.startswith("run ") and "open 2" in out  # the inline summary
    [job] = _jobs(cli_url)
    assert job["status"] == "succeeded"
    progress = err.splitlines()
    assert progress[-1].startswith(f"#{job['id']}  detect  {TOWNSHIP}  已完成")
    engine = make_engine(cli_url)
    with engine.connect() as conn:
        actors = conn.execute(text("SELECT DISTINCT actor FROM dispute_events"))
        assert actors.scalars().all() == ["张三"]  # the job kept the options
    engine.dispose()


def test_wait_imports_a_file_and_shows_each_stage(cli_url: str, tmp_path: Path) -> None:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [102.5 + i / 1e3, 37.105]},
            "properties": {"code": f"W{i:03d}", "head_name": f"户主{i}", "members": 2},
        }
        for i in range(25)
    ]
    path = tmp_path / "hh.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with thread_worker(cli_url):
        code, out, err = run("import", "households", str(path), "-t", TOWNSHIP,
                             "--wait", "--json")  # fmt: skip
    assert code == 0, out + err
    assert json.loads(out)["inserted"] == 25  # the inline command's JSON
    [job] = _jobs(cli_url)
    assert job["status"] == "succeeded"
    engine = make_engine(cli_url)
    with engine.connect() as conn:
        stage = conn.execute(text("SELECT stage FROM jobs")).scalar()
        count = conn.execute(
            text("SELECT count(*) FROM households WHERE code LIKE 'W%'")
        ).scalar()
    engine.dispose()
    assert (stage, count) == ("succeeded", 25)

    with thread_worker(cli_url) as stages:  # the import's own stages, reported
        code, out, err = run("import", "households", str(path), "-t", TOWNSHIP,
                             "--wait")  # fmt: skip
    assert code == 0, out + err
    assert "未变 25" in out
    assert stages[0] == "importing" and "读取 25 条" in stages[1], stages
    assert "已完成 (succeeded)" in err.splitlines()[-1]


def test_wait_exits_1_when_the_job_fails(cli_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feat')
    with thread_worker(cli_url):
        code, _, err = run("import", "households", str(path), "-t", TOWNSHIP,
                           "--wait")  # fmt: skip
    assert code == 1
    assert "error: " in err
    [job] = _jobs(cli_url)
    assert job["status"] == "failed"
    with thread_worker(cli_url):
        code, out, _ = run("import", "households", str(path), "-t", TOWNSHIP,
                           "--wait", "--json")  # fmt: skip
    assert code == 1
    assert json.loads(out)["status"] == 415  # the problem (unreadable), as inline


def test_the_progress_line_draws_a_bar_of_the_counts() -> None:
    job = {"id": 7, "kind": "import", "township": TOWNSHIP, "status": "running",
           "stage": "writing", "progress": {"done": 5, "total": 20}}  # fmt: skip
    assert job_line(job) == (
        f"#7  import  {TOWNSHIP}  运行中 (running)  writing [#####---------------] 5/20"
    )
