"""A private PostgreSQL cluster the fault tests may restart, stop and fill.

The other tests share the `make test` cluster; stopping it would break them, so
these get a cluster of their own (initdb once per checkout, kept between runs)
and a freshly migrated database on it per test module.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, make_url, text
from sqlalchemy.engine import URL

from gis_service.app.main import create_app
from gis_service.core.db import make_engine
from gis_service.core.embedded import EmbeddedCluster
from gis_service.core.settings import (
    AuthSettings,
    DatabaseSettings,
    EmbeddedSettings,
    LimitSettings,
    Settings,
)
from tests.conftest import (
    TEST_SECRET,
    bearer_for,
    drop_database,
    migrated_database,
)

ROOT = Path(__file__).resolve().parents[2]


def _data_dir() -> Path:
    digest = hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]
    if os.geteuid() == 0:
        return Path("/var/lib/gridgis") / f"faults-{digest}"
    return ROOT / ".gridgis" / "faults"


@pytest.fixture(scope="session")
def cluster() -> Iterator[EmbeddedCluster]:
    """The private cluster, running; stopped at the end of the session."""
    cl = EmbeddedCluster(EmbeddedSettings(data_dir=_data_dir(), database="postgres"))
    cl.start()
    yield cl
    cl.stop()


@pytest.fixture
def running(cluster: EmbeddedCluster) -> EmbeddedCluster:
    """The cluster, started again if an earlier test left it stopped."""
    if not cluster.running():
        cluster.start()
    return cluster


@pytest.fixture(scope="module")
def module_url(cluster: EmbeddedCluster) -> Iterator[URL]:
    """A migrated database per test module on the private cluster."""
    if not cluster.running():
        cluster.start()
    url = migrated_database(make_url(cluster.url()))
    yield url
    if not cluster.running():
        cluster.start()
    drop_database(url)


@pytest.fixture
def fault_url(running: EmbeddedCluster, module_url: URL) -> Iterator[URL]:
    """The module's database, running, and without townships after the test."""
    yield module_url
    if not running.running():
        running.start()
    engine = make_engine(module_url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM townships"))
    engine.dispose()


def fault_app(
    url: URL,
    *,
    db: DatabaseSettings | None = None,
    limits: LimitSettings | None = None,
) -> FastAPI:
    """The app as in production: its own engine, built by the lifespan."""
    settings = Settings(
        database_url=url.render_as_string(hide_password=False),
        db=db or DatabaseSettings(),
        limits=limits or LimitSettings(),
        auth=AuthSettings(secret=TEST_SECRET),
    )
    return create_app(settings)


def admin_headers(url: URL) -> dict[str, str]:
    """Signed in as the test admin (every route but /health needs a user)."""
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        return bearer_for(engine)
    finally:
        engine.dispose()


@pytest.fixture
def fault_engine(fault_url: URL) -> Iterator[Engine]:
    """An engine of the test's own on its database (for setup and checks)."""
    engine = make_engine(fault_url.render_as_string(hide_password=False))
    yield engine
    engine.dispose()
