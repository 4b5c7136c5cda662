"""schemathesis over the whole OpenAPI, as a client would: every check, every phase.

``schemathesis run --checks all`` (status codes, content types, response
schemas, negative data rejected, positive data accepted, ...) with the
examples, coverage, fuzzing and stateful phases and both positive and negative
data, against ``gridgis serve`` on a scratch database holding a demo township,
which is pinned as the ``township`` path parameter so requests reach real data.
Slow: marked so, and small (``GRIDGIS_CONTRACT_EXAMPLES`` explores more). Opt-in
(``GRIDGIS_CONTRACT=1``) until it reaches 0 failures; see the issue's note.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.service.conftest import DEMO_TOWNSHIP

BIN = Path(sys.executable).parent
EXAMPLES = os.environ.get("GRIDGIS_CONTRACT_EXAMPLES", "8")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(demo_engine: Engine) -> Iterator[str]:
    """``gridgis serve`` on the demo database; yields its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "GRIDGIS_DATABASE_URL": demo_engine.url.render_as_string(hide_password=False),
    }
    server = subprocess.Popen(
        [str(BIN / "gridgis"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert server.poll() is None and time.monotonic() < deadline
        time.sleep(0.3)
    yield base
    server.terminate()
    server.wait(timeout=20)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("GRIDGIS_CONTRACT") != "1",
    reason="not yet at 0 failures (constraints the schema cannot say, e.g. "
    "since < until); run with GRIDGIS_CONTRACT=1",
)
def test_schemathesis_all_checks_all_phases(served: str, tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f'[parameters]\n"path.township" = "{DEMO_TOWNSHIP}"\n'
        '"body.time_limit_s" = 0.2\n'
    )
    run = subprocess.run(
        [
            str(BIN / "schemathesis"),
            "--config-file",
            str(config),
            "run",
            f"{served}/openapi.json",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--mode",
            "all",
            "--max-examples",
            EXAMPLES,
            "--seed",
            "20261202",
            "--generation-deterministic",
            "--continue-on-failure",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    tail = run.stdout[-6000:]
    assert run.returncode == 0, tail
