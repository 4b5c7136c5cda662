"""Crashes: an import killed with SIGKILL, the cluster killed with SIGKILL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from shapely.geometry import Point

from gis_service.core.embedded import EmbeddedCluster
from tests.factories import TOWNSHIP, make_township
from tests.layers.factories_layers import households_frame, write

ROWS = 3000
GRIDGIS = str(Path(sys.executable).with_name("gridgis"))


def _state(engine: Engine) -> tuple[int, int]:
    """Households of the township, and tables an import may leave behind."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT count(*) FROM households WHERE township_code = :t"),
            {"t": TOWNSHIP},
        ).scalar_one()
        leftovers = conn.execute(
            text(
                "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relpersistence"
                " = 'p' AND (relname LIKE '%\\_next' OR relname LIKE '\\_%stage%')"
            )
        ).scalar_one()
    return int(rows), int(leftovers)


@pytest.mark.slow
def test_import_killed_at_random_points_adds_0_or_n(
    fault_url: URL, fault_engine: Engine, tmp_path: Path
) -> None:
    with Session(fault_engine) as session:
        make_township(session)
        session.commit()
    codes = [f"K{i:05d}" for i in range(ROWS)]
    points = [
        Point(102.5 + 0.0001 * (i % 60), 37.1 + 0.0001 * (i // 60)) for i in range(ROWS)
    ]
    frame = households_frame(ROWS, code=codes, members=[2] * ROWS, geometry=points)
    path = write(frame, tmp_path / "h.gpkg")
    env = {**os.environ, "GRIDGIS_DATABASE_URL": fault_url.render_as_string(False)}
    command = [GRIDGIS, "import", "households", str(path), "-t", TOWNSHIP]
    rng = random.Random(20261202)
    seen = set()
    for trial in range(4):
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.5, 4.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        time.sleep(0.3)  # the server notices the lost client and rolls back
        rows, leftovers = _state(fault_engine)
        assert rows in (0, ROWS), (trial, rows)
        assert leftovers == 0
        seen.add(rows)  # which outcomes the random kills produced
        if rows:
            with fault_engine.begin() as conn:
                conn.execute(
                    text("DELETE FROM households WHERE township_code = :t"),
                    {"t": TOWNSHIP},
                )
    finished = subprocess.run(command, env=env, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert _state(fault_engine) == (ROWS, 0)


def test_start_after_postmaster_sigkill(running: EmbeddedCluster) -> None:
    pid = int((running.pgdata / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    assert not running.answering()
    status = running.start()  # retries until the old one is gone; recovery runs
    assert status.answering and status.running
    down = subprocess.run(
        [GRIDGIS, "db", "status"],
        env={
            **os.environ,
            "GRIDGIS_EMBEDDED__DATA_DIR": str(running.root),
            "GRIDGIS_EMBEDDED__DATABASE": "postgres",
        },
        capture_output=True,
        text=True,
    )
    assert down.returncode == 0, down.stderr
    running.stop()
    stopped = subprocess.run(
        [GRIDGIS, "db", "status"],
        env={
            **os.environ,
            "GRIDGIS_EMBEDDED__DATA_DIR": str(running.root),
            "GRIDGIS_EMBEDDED__DATABASE": "postgres",
        },
        capture_output=True,
        text=True,
    )
    assert stopped.returncode == 1
    running.start()
