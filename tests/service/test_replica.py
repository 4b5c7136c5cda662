"""Reads on a real streaming replica of the test cluster; writes and fresh reads not.

The replica is made with ``pg_basebackup -R`` from the test server and started on
its own socket; replay is paused so that what the primary has and the replica has
not tells which server answered a request.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from gis_service.app.main import create_app
from gis_service.core.db import make_engine
from gis_service.core.embedded import _as_server_user, _free_port, _pg_bin
from gis_service.core.replicas import WROTE_COOKIE
from gis_service.core.settings import AuthSettings, Settings
from tests.conftest import TEST_SECRET, bearer_for
from tests.factories import TOWNSHIP, make_households, make_township

pytestmark = pytest.mark.slow

ITEMS = f"/townships/{TOWNSHIP}/layers/households/items"


def _run(cmd: list[str]) -> None:
    done = subprocess.run(_as_server_user(cmd), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def replica(scratch_url: URL) -> Iterator[tuple[URL, URL, Path]]:
    """(primary URL, replica URL, replica data dir) of a running hot standby."""
    host, port = (
        scratch_url.query["host"],
        scratch_url.port or scratch_url.query["port"],
    )
    root = Path(tempfile.mkdtemp(prefix="gridgis-replica-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    pgdata, sockets = root / "pgdata", root / "run"
    _run(["mkdir", "-m", "700", str(sockets)])
    _run(
        [
            _pg_bin("pg_basebackup"),
            "-D",
            str(pgdata),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "-h",
            str(host),
            "-p",
            str(port),
            "-U",
            "postgres",
        ]
    )
    replica_port = _free_port()
    _run(
        [
            _pg_bin("pg_ctl"),
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(pgdata),
            "-l",
            str(root / "replica.log"),
            "-o",
            f"-k {sockets} -p {replica_port} -c listen_addresses=''",
        ]
    )
    replica_url = scratch_url.set(
        query={"host": str(sockets), "port": str(replica_port)}
    )
    try:
        yield scratch_url, replica_url, pgdata
    finally:
        if (pgdata / "postmaster.pid").exists():
            _run([_pg_bin("pg_ctl"), "stop", "-m", "immediate", "-D", str(pgdata)])
        shutil.rmtree(root, ignore_errors=True)


def _codes(client: TestClient) -> set[str]:
    response = client.get(ITEMS)
    assert response.status_code == 200, response.text
    return {f["properties"]["code"] for f in response.json()["features"]}


def test_reads_go_to_the_replica_writes_and_fresh_reads_to_the_primary(
    replica: tuple[URL, URL, Path],
) -> None:
    primary_url, replica_url, pgdata = replica
    primary = make_engine(primary_url.render_as_string(hide_password=False))
    standby = make_engine(replica_url.render_as_string(hide_password=False))
    with Session(primary) as session:
        make_township(session)
        make_households(session, [(102.50, 37.10)], prefix="OLD")
    deadline = time.monotonic() + 30
    with standby.connect() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar() is True
        while conn.execute(text("SELECT count(*) FROM households")).scalar() != 1:
            assert time.monotonic() < deadline, "the replica never caught up"
            time.sleep(0.2)
        conn.execute(text("SELECT pg_wal_replay_pause()"))
    with Session(primary) as session:
        make_households(session, [(102.51, 37.11)], prefix="NEW")

    settings = Settings(
        database_url=primary_url.render_as_string(hide_password=False),
        read_database_url=[replica_url.render_as_string(hide_password=False)],
        auth=AuthSettings(secret=TEST_SECRET),
    )
    headers = bearer_for(primary)
    with TestClient(
        create_app(settings), raise_server_exceptions=False, headers=headers
    ) as client:
        assert _codes(client) == {"OLD001"}  # a plain read: the paused replica

        renamed = client.put(f"/townships/{TOWNSHIP}", json={"name": "副本镇"})
        assert renamed.status_code in (200, 201), renamed.text
        assert WROTE_COOKIE in client.cookies
        assert _codes(client) == {"OLD001", "NEW001"}  # read-your-writes: primary

        client.cookies.clear()
        assert _codes(client) == {"OLD001"}  # back on the replica
        assert client.get(ITEMS, params={"unmask": "true"}).status_code in (200, 403)

        _run([_pg_bin("pg_ctl"), "stop", "-m", "immediate", "-D", str(pgdata)])
        assert _codes(client) == {"OLD001", "NEW001"}  # replica down: the primary
        assert _codes(client) == {"OLD001", "NEW001"}  # and it stays left out
    primary.dispose()
    standby.dispose()
