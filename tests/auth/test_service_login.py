"""The service logs in as ``gridgis_service`` (migration 0140): it owns nothing,
is no superuser, bypasses no RLS and reads no township table until a request's
transaction takes its scope role; a ``RESET ROLE`` falls back to nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gis_service.app.main import create_app
from gis_service.core.auth.login import SERVICE_LOGIN, service_database_url
from gis_service.core.auth.models import User
from gis_service.core.auth.principal import resolve
from gis_service.core.auth.scope import apply_scope, clear_scope, unscoped
from gis_service.core.db import make_engine
from gis_service.core.settings import AuthSettings, Settings
from tests.auth.factories_scope import IN_SCOPE, make_world
from tests.conftest import app_settings, as_service, bearer_for

# every table with RLS, and the bookkeeping the service reaches only as the owner
TABLES_SQL = text(
    "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
    " AND c.relkind IN ('r', 'p') ORDER BY 1"
)


@pytest.fixture(scope="module")
def service_engine(database_url: URL) -> Iterator[Engine]:
    """A real login as the service, derived from the test server's owner URL."""
    owner_url = database_url.render_as_string(hide_password=False)
    engine = make_engine(service_database_url(app_settings(database_url), owner_url))
    yield engine
    engine.dispose()


def test_the_login_is_no_owner_no_superuser_and_bypasses_nothing(
    session: Session,
) -> None:
    role = session.execute(
        text(
            "SELECT rolsuper, rolbypassrls, rolinherit, rolcanlogin, rolcreaterole,"
            " rolcreatedb, oid FROM pg_roles WHERE rolname = :r"
        ),
        {"r": SERVICE_LOGIN},
    ).one()
    assert tuple(role)[:6] == (False, False, False, True, False, False)
    owned = session.execute(
        text(
            "SELECT (SELECT count(*) FROM pg_class WHERE relowner = :o)"
            " + (SELECT count(*) FROM pg_proc WHERE proowner = :o)"
            " + (SELECT count(*) FROM pg_namespace WHERE nspowner = :o)"
            " + (SELECT count(*) FROM pg_type WHERE typowner = :o)"
            " + (SELECT count(*) FROM pg_database WHERE datdba = :o)"
        ),
        {"o": role.oid},
    ).scalar()
    assert owned == 0
    members = session.execute(
        text(
            "SELECT array_agg(b.rolname ORDER BY b.rolname) FROM pg_auth_members m"
            " JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = :o"
        ),
        {"o": role.oid},
    ).scalar()
    assert members == [
        "gridgis_all", "gridgis_app", "gridgis_cadre", "gridgis_county",
        "gridgis_leader", "gridgis_system", "gridgis_wide",
    ]  # fmt: skip


def test_the_login_alone_reads_no_table(service_engine: Engine) -> None:
    with service_engine.connect() as conn:
        assert conn.execute(text("SELECT session_user")).scalar() == SERVICE_LOGIN
        tables = conn.execute(TABLES_SQL).scalars().all()
    assert "households" in tables and "users" in tables
    for table in tables:
        if table == "spatial_ref_sys":  # PostGIS's, readable by everyone
            continue
        with (
            service_engine.connect() as conn,
            pytest.raises(DBAPIError, match="permission denied"),
        ):
            conn.execute(text(f"SELECT count(*) FROM {table}"))


def test_reset_role_in_a_scoped_request_widens_nothing(session: Session) -> None:
    make_world(session)
    user = session.query(User).filter_by(username="leader_a").one()
    principal = resolve(session, user, via="bearer")
    for _ in as_service(session):
        apply_scope(session, principal)
        try:
            codes = session.execute(text("SELECT code FROM households")).scalars()
            assert set(codes) == IN_SCOPE["leader_a"]
            savepoint = session.begin_nested()
            session.execute(text("RESET ROLE"))
            assert session.execute(text("SELECT current_user")).scalar() == (
                SERVICE_LOGIN
            )
            with pytest.raises(DBAPIError, match="permission denied"):
                session.execute(text("SELECT count(*) FROM households"))
            savepoint.rollback()
            # system work is a deliberate, named step (scope.unscoped)
            with unscoped(session):
                assert session.execute(text("SELECT current_user")).scalar() == (
                    "gridgis_system"
                )
            assert session.execute(text("SELECT current_user")).scalar() == (
                "gridgis_leader"
            )
        finally:
            clear_scope(session)


def test_derived_urls(tmp_path: Path) -> None:
    socket = "postgresql+psycopg2://postgres@/gridgis?host=/run/pg&port=5433"
    assert make_url(service_database_url(Settings(), socket)).username == (
        SERVICE_LOGIN
    )
    tcp = "postgresql+psycopg2://owner:secret@db.example:5432/gridgis"
    settings = Settings(
        database_url=tcp, auth=AuthSettings(secret_file=tmp_path / "jwt.key")
    )
    derived = make_url(service_database_url(settings, tcp))
    assert (derived.username, derived.host, derived.database) == (
        SERVICE_LOGIN, "db.example", "gridgis",
    )  # fmt: skip
    kept = tmp_path / f"{SERVICE_LOGIN}.password"
    assert derived.password == kept.read_text().strip() != "secret"
    assert kept.stat().st_mode & 0o777 == 0o600
    explicit = "postgresql://svc:pw@db.example/gridgis"
    settings = Settings(database_url=tcp, service_database_url=explicit)
    assert service_database_url(settings, tcp) == explicit


def test_the_app_serves_requests_on_the_service_login(
    database_url: URL, engine: Engine
) -> None:
    app = create_app(app_settings(database_url))
    with TestClient(app, headers=bearer_for(engine)) as client:
        assert client.get("/townships").status_code == 200
        with app.state.engine.connect() as conn:
            assert conn.execute(text("SELECT session_user")).scalar() == SERVICE_LOGIN
