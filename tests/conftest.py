"""Test fixtures on a real PostGIS.

The server comes from ``--database-url`` > ``GRIDGIS_TEST_DATABASE_URL`` > the
embedded cluster (started here if needed). Each test session makes a fresh database
and builds it with ``alembic upgrade head`` (never ``create_all``), so the
migrations are exercised on every run. Each test runs inside a transaction that
is rolled back; services commit to a SAVEPOINT
(``join_transaction_mode="create_savepoint"``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from alembic import command
from gis_service.app.main import create_app
from gis_service.core.db import get_session, make_engine
from gis_service.core.embedded import EmbeddedCluster
from gis_service.core.settings import EmbeddedSettings, Settings

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--database-url", help="PostGIS server to make test databases on")


@pytest.fixture(scope="session")
def server_url(request: pytest.FixtureRequest) -> URL:
    """A URL to the test server's maintenance database."""
    url = request.config.getoption("--database-url") or os.environ.get(
        "GRIDGIS_TEST_DATABASE_URL"
    )
    if not url:
        cluster = EmbeddedCluster(EmbeddedSettings(database="postgres"))
        cluster.start()
        url = cluster.url()
    return make_url(url)


def create_database(server: URL, prefix: str = "gridgis_test") -> URL:
    """Create an empty, uniquely named database and return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name)


def drop_database(url: URL) -> None:
    """Drop a test database, closing its leftover connections first."""
    admin = make_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def alembic_config(url: URL) -> Config:
    """Alembic config aimed at ``url`` (no logging setup)."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.attributes["url"] = url.render_as_string(hide_password=False)
    config.attributes["configure_logger"] = False
    return config


def migrated_database(server: URL) -> URL:
    """A fresh database built by the migrations."""
    url = create_database(server)
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture(scope="session")
def database_url(server_url: URL) -> Iterator[URL]:
    """The session's migrated database (dropped at the end)."""
    url = migrated_database(server_url)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def engine(database_url: URL) -> Iterator[Engine]:
    eng = make_engine(database_url.render_as_string(hide_password=False))
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose every write is rolled back after the test."""
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield db
    finally:
        db.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def app(engine: Engine, session: Session, database_url: URL) -> FastAPI:
    """The app on the test database, sharing the test's session."""
    application = create_app(
        Settings(database_url=database_url.render_as_string(False))
    )
    application.state.engine = engine
    application.dependency_overrides[get_session] = lambda: session
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def scratch_url(server_url: URL) -> Iterator[URL]:
    """A migrated database of a test's own, for real commits across connections."""
    url = migrated_database(server_url)
    yield url
    drop_database(url)
