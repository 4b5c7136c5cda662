"""Two API processes (one of them with two uvicorn workers) on one database agree."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from httpx import Client
from sqlalchemy.engine import URL

from gis_service.core.db import make_engine
from tests.conftest import TEST_SECRET, bearer_for
from tests.factories import TOWNSHIP

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(url: URL, workers: int) -> Iterator[str]:
    """``gridgis serve`` in a process of its own; yields its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "GRIDGIS_DATABASE_URL": url.render_as_string(False),
        "GRIDGIS_AUTH__SECRET": TEST_SECRET,
    }
    command = [sys.executable, "-c", "from gis_service.app.cli import main; main()"]
    args = ["serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(
        command + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (
                process.stderr.read() if process.stderr else ""
            )
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server never answered"
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_two_processes_on_one_database_see_each_others_writes(
    scratch_url: URL,
) -> None:
    engine = make_engine(scratch_url.render_as_string(hide_password=False))
    api = Client(headers=bearer_for(engine))
    engine.dispose()
    with serving(scratch_url, workers=2) as first, serving(scratch_url, 1) as second:
        made = api.put(f"{first}/townships/{TOWNSHIP}", json={"name": "甲镇"})
        assert made.status_code in (200, 201), made.text
        for _ in range(6):  # several requests: both workers of the first answer
            seen = api.get(f"{second}/townships").json()
            assert [t["name"] for t in seen if t["code"] == TOWNSHIP] == ["甲镇"]
            renamed = api.put(f"{second}/townships/{TOWNSHIP}", json={"name": "乙镇"})
            assert renamed.status_code == 200, renamed.text
            back = api.get(f"{first}/townships").json()
            assert [t["name"] for t in back if t["code"] == TOWNSHIP] == ["乙镇"]
            api.put(f"{first}/townships/{TOWNSHIP}", json={"name": "甲镇"})
