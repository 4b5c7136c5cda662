"""A filesystem that is really full under an import: 507, nothing written, recovery.

The other fault tests inject SQLSTATE 53100 or cap ``temp_file_limit``; here
the tables an import creates (a first load's new partition, a staging table)
live on a 512 kB tmpfs (``default_tablespace``, ``temp_tablespaces``, with
``temp_buffers`` at its least so a temp table does not stay in memory), so
PostgreSQL meets ENOSPC from the kernel while the real import endpoint copies a
households file into it. Mounting needs root (as `make test` runs in CI).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from shapely.geometry import Point

from gis_service.core.embedded import EmbeddedCluster
from gis_service.core.settings import DatabaseSettings
from tests.factories import TOWNSHIP, make_township
from tests.faults.conftest import admin_headers, fault_app
from tests.layers.factories_layers import households_frame, upload, write

ROWS = 8000  # ~2 MB staged: four times the filesystem, 2.5 times temp_buffers
SPACE = "gridgis_full"


@pytest.fixture
def full_space(running: EmbeddedCluster, fault_engine: Engine) -> Iterator[Path]:
    """A 512 kB tmpfs as a tablespace, the test database's temp tablespace."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    folder = running.root / "full-space"
    folder.mkdir(exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", str(folder)],
        check=True,
    )
    owner = running.pgdata.stat()
    os.chown(folder, owner.st_uid, owner.st_gid)
    database = fault_engine.url.database
    auto = fault_engine.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with auto.connect() as conn:
            conn.exec_driver_sql(f"CREATE TABLESPACE {SPACE} LOCATION '{folder}'")
            conn.exec_driver_sql(f"GRANT CREATE ON TABLESPACE {SPACE} TO PUBLIC")
            for setting in ("temp_tablespaces", "default_tablespace"):
                conn.exec_driver_sql(
                    f'ALTER DATABASE "{database}" SET {setting} = {SPACE}'
                )
            # temp tables stay in memory up to temp_buffers: the least (100 pages)
            conn.exec_driver_sql(f'ALTER DATABASE "{database}" SET temp_buffers = 100')
        yield folder
    finally:
        with auto.connect() as conn:
            for setting in ("temp_tablespaces", "default_tablespace", "temp_buffers"):
                conn.exec_driver_sql(f'ALTER DATABASE "{database}" RESET {setting}')
            conn.exec_driver_sql(f"DROP TABLESPACE IF EXISTS {SPACE}")
        subprocess.run(["umount", str(folder)], check=False)
        folder.rmdir()


def _households(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM households WHERE township_code = :t"),
                {"t": TOWNSHIP},
            ).scalar_one()
        )


def test_import_onto_a_full_disk_is_507_then_succeeds_with_room(
    fault_url: URL, fault_engine: Engine, full_space: Path, tmp_path: Path
) -> None:
    with Session(fault_engine) as session:
        make_township(session)
        session.commit()
    codes = [f"F{i:05d}" for i in range(ROWS)]
    points = [
        Point(102.5 + 0.0001 * (i % 80), 37.1 + 0.0001 * (i // 80)) for i in range(ROWS)
    ]
    frame = households_frame(ROWS, code=codes, members=[3] * ROWS, geometry=points)
    path = write(frame, tmp_path / "households.gpkg")
    app = fault_app(fault_url, db=DatabaseSettings(read_timeout_s=30.0))
    headers = admin_headers(fault_url)
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        response = upload(client, "households", path)
        assert response.status_code == 507, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "nothing was written" in response.json()["detail"]
        assert _households(fault_engine) == 0
        # an aborted table's first segment stays, emptied, until the next checkpoint
        left = {p: p.stat().st_size for p in full_space.rglob("*") if p.is_file()}
        assert not any(left.values()), f"data left on the full disk: {left}"
        assert client.get("/townships").status_code == 200  # the service goes on

        with fault_engine.execution_options(
            isolation_level="AUTOCOMMIT"
        ).connect() as c:
            for setting in ("temp_tablespaces", "default_tablespace"):
                c.exec_driver_sql(
                    f'ALTER DATABASE "{fault_engine.url.database}" RESET {setting}'
                )
        app.state.engine.dispose()  # new sessions read the database's settings
        again = upload(client, "households", path)
        assert again.status_code == 200, again.text
        assert _households(fault_engine) == ROWS
