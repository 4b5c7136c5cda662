"""The embedded cluster: peer on the socket, scram-sha-256 with a generated
password on TCP; and the read-only GDAL role sees masked views only."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from gis_service.core.db import make_engine
from gis_service.core.embedded import EmbeddedCluster
from gis_service.core.settings import EmbeddedSettings
from tests.auth.factories_scope import ID_NUMBER, make_world


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[EmbeddedCluster]:
    root = (
        Path("/var/lib/gridgis") / f"test-auth-{uuid.uuid4().hex[:8]}"
        if os.geteuid() == 0
        else tmp_path / "cluster"
    )
    made = EmbeddedCluster(EmbeddedSettings(data_dir=root, database="gridgis"))
    try:
        made.start()
        yield made
    finally:
        made.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_socket_is_peer_and_tcp_needs_the_generated_password(
    cluster: EmbeddedCluster,
) -> None:
    assert cluster.password_file.stat().st_mode & 0o777 == 0o600
    hba = (cluster.pgdata / "pg_hba.conf").read_text()
    assert "trust" not in hba and "scram-sha-256" in hba and "peer" in hba
    # the socket's peer map lets the OS user in as the owner or as the service
    ident = (cluster.pgdata / "pg_ident.conf").read_text()
    assert "  postgres\n" in ident and "  gridgis_service\n" in ident
    socket = make_engine(cluster.url())
    with socket.connect() as conn:
        assert conn.execute(text("SHOW password_encryption")).scalar() == (
            "scram-sha-256"
        )
    socket.dispose()
    tcp = f"postgresql+psycopg2://postgres@127.0.0.1:{cluster.port}/gridgis"
    for password in ("", ":wrong-password"):
        url = tcp.replace("postgres@", f"postgres{password}@")
        engine = make_engine(url)
        with pytest.raises(OperationalError), engine.connect():
            pass
        engine.dispose()
    good = make_engine(tcp.replace("postgres@", f"postgres:{cluster.password()}@"))
    with good.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    good.dispose()
    cluster.stop()
    cluster.start()  # a second start keeps the set-up (and the password)
    assert (cluster.pgdata / "pg_hba.conf").read_text() == hba


def test_gdal_reader_sees_masked_views_only(session: Session) -> None:
    make_world(session)
    session.execute(text("SET LOCAL ROLE gridgis_reader"))
    try:
        numbers = session.execute(
            text(
                "SELECT DISTINCT id_number, phone FROM gdal.households "
                "WHERE id_number IS NOT NULL"
            )
        ).all()
        assert [tuple(r) for r in numbers] == [("620623********1234", "138****5678")]
        assert ID_NUMBER not in str(numbers)
        for table in ("households", "cadres", "users", "households_default"):
            with (
                pytest.raises(DBAPIError, match="permission denied"),
                session.begin_nested(),
            ):
                session.execute(text(f"SELECT 1 FROM {table} LIMIT 1"))
    finally:
        session.execute(text("RESET ROLE"))
