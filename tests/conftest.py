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
from contextlib import suppress
from pathlib import Path

import pytest
from alembic.config import Config
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from alembic import command
from gis_service.app.main import create_app
from gis_service.core.auth import tokens
from gis_service.core.auth.login import SERVICE_LOGIN
from gis_service.core.auth.users import add_user
from gis_service.core.db import SERVICE_SESSION, get_session, make_engine
from gis_service.core.embedded import EmbeddedCluster
from gis_service.core.settings import AuthSettings, EmbeddedSettings, Settings

ROOT = Path(__file__).resolve().parent.parent
# Every migrated test database has this admin (no township or county: every one),
# and the ``client`` fixture signs in as them, so the API tests take the admin path.
TEST_ADMIN = "test-admin"
TEST_SECRET = "gridgis-test-signing-key-not-for-production-0123456789"


def app_settings(url: URL | str) -> Settings:
    """Settings for an app on a test database (a fixed signing key)."""
    if isinstance(url, URL):
        url = url.render_as_string(hide_password=False)
    return Settings(database_url=url, auth=AuthSettings(secret=TEST_SECRET))


def bearer_for(engine: Engine, username: str = TEST_ADMIN) -> dict[str, str]:
    """An Authorization header signed in as ``username`` (the test admin)."""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT id, token_version FROM users WHERE username = :u"),
            {"u": username},
        ).one()
    token, _ = tokens.issue(
        app_settings("postgresql://unused"),
        user_id=row.id,
        version=row.token_version,
        kind="access",
    )
    return {"Authorization": f"Bearer {token}"}


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
    engine = make_engine(url.render_as_string(hide_password=False))
    with Session(engine) as session:
        add_user(session, username=TEST_ADMIN, password=uuid.uuid4().hex, role="admin")
    engine.dispose()
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


def as_service(session: Session) -> Iterator[Session]:
    """The test's session for one request, logged in as the service would be.

    Requests log in as ``gridgis_service`` (owns nothing, reads nothing on its
    own); the test's session is the superuser's, so it takes that identity for
    the request (``SET SESSION AUTHORIZATION``) and gives it back afterwards, when
    the test reads and writes as the owner again.
    """
    connection = session.connection()
    connection.exec_driver_sql(f"SET SESSION AUTHORIZATION {SERVICE_LOGIN}")
    session.info[SERVICE_SESSION] = True
    try:
        yield session
    finally:
        session.info.pop(SERVICE_SESSION, None)
        with suppress(SQLAlchemyError):  # a failed transaction: its rollback resets
            session.connection().exec_driver_sql("RESET SESSION AUTHORIZATION")


@pytest.fixture
def app(engine: Engine, session: Session, database_url: URL) -> FastAPI:
    """The app on the test database, sharing the test's session (as the service)."""
    application = create_app(app_settings(database_url))
    application.state.engine = engine

    def request_session() -> Iterator[Session]:
        yield from as_service(session)

    application.dependency_overrides[get_session] = request_session
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    headers = bearer_for(app.state.engine)
    with TestClient(app, raise_server_exceptions=False, headers=headers) as test_client:
        yield test_client


@pytest.fixture
def scratch_url(server_url: URL) -> Iterator[URL]:
    """A migrated database of a test's own, for real commits across connections."""
    url = migrated_database(server_url)
    yield url
    drop_database(url)
