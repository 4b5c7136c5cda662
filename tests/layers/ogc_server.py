"""A real uvicorn serving GridGIS on 127.0.0.1 over a scratch database, for clients.

GDAL (and the benchmark) talk HTTP to it from other processes, so the data must be
committed: the demo township (every layer, disputes detected, households assigned)
plus a small second township whose households straddle the antimeridian.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from gis_service.app.demo.load import load_demo
from gis_service.core.db import make_engine
from tests.conftest import ROOT, drop_database, migrated_database
from tests.factories import OTHER_TOWNSHIP, make_households, make_township

try:  # sign-in (the access work): the server needs the tests' signing key
    from tests.conftest import TEST_SECRET, bearer_for
except ImportError:  # before sign-in existed every route was open
    TEST_SECRET, bearer_for = None, None

DEMO = "620623101000"
DEMO_HOUSEHOLDS = 120
# Fiji-like: two households either side of 180°, one far away.
ANTIMERIDIAN_POINTS = [(179.95, -17.5), (-179.95, -17.6), (10.0, -17.5)]


@dataclass(frozen=True)
class Server:
    """Where the server listens and the database it serves."""

    base: str  # http://127.0.0.1:PORT/ogc
    database_url: URL
    headers: dict[str, str]  # Authorization for the test admin, when sign-in exists

    @property
    def gdal_env(self) -> dict[str, str]:
        """GDAL sends these headers with every request (GDAL_HTTP_HEADERS)."""
        lines = "\r\n".join(f"{k}: {v}" for k, v in self.headers.items())
        return {"GDAL_HTTP_HEADERS": lines} if lines else {}


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_uvicorn(url: URL, port: int) -> subprocess.Popen[bytes]:
    """Start the app factory under uvicorn and wait until it answers."""
    env = {
        **os.environ,
        "GRIDGIS_DATABASE_URL": url.render_as_string(hide_password=False),
    }
    if TEST_SECRET is not None:
        env["GRIDGIS_AUTH__SECRET"] = TEST_SECRET
    # the server's log goes to a file: a pipe nobody reads fills up, and the
    # server then blocks in its next log line (a 500's traceback), so a test
    # would wait out its client's timeout instead of failing
    log = tempfile.TemporaryFile()  # noqa: SIM115 (as long as the server lives)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory",
         "gis_service.app.main:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            err = log.read().decode(errors="replace")
            raise RuntimeError(f"uvicorn exited: {err[-2000:]}")
        try:
            probe = httpx.get(f"http://127.0.0.1:{port}/ogc/", timeout=2)
            if probe.status_code in (200, 401):
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("uvicorn did not start within 90 s")


def seed(url: URL) -> dict[str, str]:
    """Commit the demo township and the antimeridian township; the admin's header."""
    engine = make_engine(url.render_as_string(hide_password=False))
    with Session(engine) as session:
        load_demo(session, households=DEMO_HOUSEHOLDS)
        make_township(session, OTHER_TOWNSHIP, "日界线镇")
        make_households(
            session, ANTIMERIDIAN_POINTS, township=OTHER_TOWNSHIP, prefix="AM",
            phone="13812345678", id_number="620123199001011234",
        )  # fmt: skip
    headers = bearer_for(engine) if bearer_for is not None else {}
    engine.dispose()
    return headers


@pytest.fixture(scope="module")
def ogc_server(server_url: URL) -> Iterator[Server]:
    """A seeded scratch database served by a real uvicorn for the module."""
    url = migrated_database(server_url)
    proc: subprocess.Popen[bytes] | None = None
    try:
        headers = seed(url)
        port = free_port()
        proc = start_uvicorn(url, port)
        yield Server(f"http://127.0.0.1:{port}/ogc", url, headers)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        drop_database(url)
