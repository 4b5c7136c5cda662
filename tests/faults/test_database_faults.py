"""Database faults on a real cluster: 503 + Retry-After, 507, retries, recovery."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from gis_service.core.auth.scope import unscoped
from gis_service.core.db import atomic
from gis_service.core.deps import SessionDep
from gis_service.core.embedded import EmbeddedCluster, _pg_bin, _run
from gis_service.core.faults import with_retries
from gis_service.core.settings import DatabaseSettings
from gis_service.core.townships import save_township
from tests.faults.conftest import admin_headers, fault_app

TOWNSHIP = "620623101000"


def _probes(app: FastAPI) -> dict[str, int]:
    """Routes that sleep, raise a SQLSTATE a few times, or fill temp space."""
    calls: dict[str, int] = {}
    router = APIRouter()

    @router.get("/_sleep")
    def sleep(session: SessionDep, s: float = 2.0) -> dict[str, Any]:
        session.execute(text("SELECT pg_sleep(:s)"), {"s": s})
        return {"slept": s}

    @router.post("/_sleep")
    def write_slowly(session: SessionDep, s: float = 2.0) -> dict[str, Any]:
        with atomic(session):
            save_township(session, code=TOWNSHIP, name="慢写镇", county=None)
            session.execute(text("SELECT pg_sleep(:s)"), {"s": s})
        return {"slept": s}

    @router.post("/_raise/{code}")
    def raise_code(session: SessionDep, code: str, times: int = 1) -> dict[str, Any]:
        calls[code] = calls.get(code, 0) + 1
        with atomic(session):
            save_township(session, code=TOWNSHIP, name="重试镇", county=None)
            if calls[code] <= times:
                session.execute(
                    text(
                        "DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = "
                        f"'{code}'; END $$"
                    )
                )
        return {"calls": calls[code]}

    @router.post("/_fill")
    def fill(session: SessionDep) -> dict[str, Any]:
        # temp_file_limit is a superuser's setting, and the service's login is
        # none: the probe sets it through the test's own definer function
        with atomic(session), unscoped(session):
            save_township(session, code=TOWNSHIP, name="满盘镇", county=None)
            session.execute(text("SET LOCAL work_mem = '64kB'"))
            session.execute(text("SELECT _test_temp_file_limit('256kB')"))
            session.execute(
                text(
                    "SELECT count(*) FROM (SELECT g FROM generate_series(1, 300000) g"
                    " ORDER BY md5(g::text)) s"
                )
            )
        return {}

    app.include_router(with_retries(router))
    return calls


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()  # type: ignore[no-any-return]


def _townships(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM townships")).scalar_one())


@pytest.fixture
def client(fault_url: URL) -> Iterator[TestClient]:
    app = fault_app(fault_url, db=DatabaseSettings(read_timeout_s=1.0))
    _probes(app)
    headers = admin_headers(fault_url)
    with TestClient(app, raise_server_exceptions=False, headers=headers) as test_client:
        yield test_client


# the read stays under the 1 s read timeout; the write is mid-sleep at the restart
SLEEP = {"GET": 0.9, "POST": 3.0}


def test_restart_mid_request_is_503_then_recovers(
    client: TestClient, running: EmbeddedCluster, fault_engine: Engine
) -> None:
    """A write in flight gets 503 + Retry-After (nothing written); a read is retried."""
    assert client.get("/townships").status_code == 200  # the pool holds connections
    answers: dict[str, Any] = {}
    threads = [
        threading.Thread(
            target=lambda m=method: answers.__setitem__(
                m, client.request(m, "/_sleep", params={"s": SLEEP[m]})
            )
        )
        for method in ("GET", "POST")
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # both are signed in and sleeping in the database by now
    restart = _run(
        [
            *(_pg_bin("pg_ctl"), "restart", "-w", "-m", "fast"),
            *("-D", str(running.pgdata), "-l", str(running.log_file)),
        ]
    )
    assert restart.returncode == 0, restart.stderr
    for thread in threads:
        thread.join()
    # a read is retried once on a fresh connection: 200 if the server is back
    # by then, else 503 with Retry-After; never a 500
    assert answers["GET"].status_code in (200, 503)
    if answers["GET"].status_code == 503:
        assert answers["GET"].headers["retry-after"] == "5"
    _problem(answers["POST"], 503)
    assert answers["POST"].headers["retry-after"] == "5"
    assert _townships(fault_engine) == 0
    assert client.get("/townships").status_code == 200  # no restart of ours
    assert client.get("/health").json()["database"] == "ok"


def test_statement_timeout_is_503_and_connection_returns(client: TestClient) -> None:
    body = _problem(client.get("/_sleep", params={"s": 3}), 503)
    assert body["type"].endswith("/timeout")
    assert client.get("/townships").status_code == 200


@pytest.mark.parametrize("code", ["40001", "40P01"])
def test_conflicts_are_retried_bounded(
    client: TestClient, fault_engine: Engine, code: str
) -> None:
    ok = client.post(f"/_raise/{code}", params={"times": 2})
    assert ok.status_code == 200 and ok.json()["calls"] == 3
    again = client.post(f"/_raise/{code}", params={"times": 10})
    assert _problem(again, 503) and again.headers["retry-after"] == "1"
    assert _townships(fault_engine) == 1  # the one success, no half-written rows


@pytest.mark.parametrize(
    ("code", "status"), [("57P01", 503), ("57P03", 503), ("53100", 507), ("08006", 503)]
)
def test_sqlstates_map_to_status(
    client: TestClient, fault_engine: Engine, code: str, status: int
) -> None:
    response = client.post(f"/_raise/{code}", params={"times": 99})
    _problem(response, status)
    assert _townships(fault_engine) == 0  # nothing written
    assert client.get("/townships").status_code == 200


# Test scaffolding: lets the probe (a request, as gridgis_system) set a
# superuser's parameter for its transaction.
TEMP_LIMIT_FUNCTION = """
CREATE OR REPLACE FUNCTION _test_temp_file_limit(v text) RETURNS void
LANGUAGE sql SECURITY DEFINER
AS $$ SELECT pg_catalog.set_config('temp_file_limit', v, true) $$
"""


def test_temp_space_exhausted_is_507_nothing_written(
    client: TestClient, fault_engine: Engine
) -> None:
    with fault_engine.begin() as conn:
        conn.execute(text(TEMP_LIMIT_FUNCTION))
    body = _problem(client.post("/_fill"), 507)
    assert "nothing was written" in body["detail"]
    assert _townships(fault_engine) == 0
    assert client.get("/townships").status_code == 200


def test_pool_exhausted_is_503_quickly(fault_url: URL) -> None:
    app = fault_app(
        fault_url, db=DatabaseSettings(pool_size=1, max_overflow=0, pool_timeout_s=0.5)
    )
    headers = admin_headers(fault_url)
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        held = app.state.engine.connect()
        held.execute(text("SELECT 1"))
        started = time.monotonic()
        response = client.get("/townships")
        assert time.monotonic() - started < 5
        _problem(response, 503)
        assert response.headers["retry-after"] == "2"
        held.close()
        assert client.get("/townships").status_code == 200


def test_start_with_database_down_then_recover(
    fault_url: URL, running: EmbeddedCluster, caplog: pytest.LogCaptureFixture
) -> None:
    headers = admin_headers(fault_url)
    running.stop()
    app = fault_app(fault_url)
    with (
        caplog.at_level(logging.ERROR),
        TestClient(app, raise_server_exceptions=False, headers=headers) as client,
    ):
        lines = [r.getMessage() for r in caplog.records if "start-up" in r.getMessage()]
        assert len(lines) == 1 and "serving 503" in lines[0]
        health = _problem(client.get("/health"), 503)
        assert health["database"] == "unavailable"
        listed = client.get("/townships")
        _problem(listed, 503)
        assert listed.headers["retry-after"] == "5"
        running.start()
        assert client.get("/health").status_code == 200
        assert client.get("/townships").status_code == 200
