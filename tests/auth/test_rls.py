"""Row-level security in the database itself: a query under the service's role
without any WHERE sees only the scope; partitions are reached only via parents;
every table holding township data has RLS and a policy."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gis_service.core.auth.models import User
from gis_service.core.auth.principal import resolve
from gis_service.core.auth.scope import (
    APP_ROLE,
    SCOPE_ROLES,
    SERVICE_ROLES,
    apply_scope,
    clear_scope,
)
from tests.auth.factories_scope import IN_SCOPE, USERS, make_world

ROLES = sorted(SCOPE_ROLES)


def scoped(session: Session, username: str) -> None:
    user = session.query(User).filter_by(username=username).one()
    apply_scope(session, resolve(session, user, via="bearer"))


@pytest.mark.parametrize("user", ["admin_a", "leader_a", "cadre_c1", "admin_b"])
def test_raw_sql_without_where_returns_only_the_scope(
    session: Session, user: str
) -> None:
    make_world(session)
    scoped(session, user)
    try:
        role = session.execute(text("SELECT current_user")).scalar()
        assert role == SERVICE_ROLES[USERS[user][0]]
        rows = session.execute(text("SELECT township_code, code FROM households")).all()
        here = {code for township, code in rows if township == "620623101000"}
        assert here == IN_SCOPE[user]
        if user != "admin_b":
            assert {t for t, _ in rows} <= {"620623101000"}
        demands = session.execute(text("SELECT count(*) FROM demands")).scalar()
        assert demands == len(IN_SCOPE[user])
        view = session.execute(text("SELECT count(*) FROM households_assigned"))
        assert view.scalar() == len(rows)
    finally:
        clear_scope(session)
    assert session.execute(text("SELECT current_user")).scalar() not in ROLES


def test_no_scope_sees_nothing(session: Session) -> None:
    make_world(session)
    session.execute(text("SELECT set_config('role', :r, true)"), {"r": APP_ROLE})
    try:
        for table in ("households", "grids", "cadres", "visits", "townships"):
            count = session.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            assert count == 0, table
    finally:
        session.execute(text("SELECT set_config('role', 'none', true)"))


def test_partitions_only_through_their_parent(session: Session) -> None:
    make_world(session)
    partitions = session.execute(
        text(
            "SELECT c.relname FROM pg_class c WHERE c.relispartition "
            "AND c.relkind IN ('r', 'p')"
        )
    ).scalars()
    names = list(partitions)
    assert "households_default" in names
    scoped(session, "admin_a")
    try:
        for name in names:
            denied = pytest.raises(DBAPIError, match="permission denied")
            with denied, session.begin_nested():
                session.execute(text(f"SELECT 1 FROM {name} LIMIT 1"))
    finally:
        clear_scope(session)


def test_every_table_with_township_data_has_rls_and_a_policy(
    session: Session,
) -> None:
    """Tables added later (hazards, ...) must come with their policies."""
    rows = session.execute(
        text(
            """
            SELECT c.relname, c.relrowsecurity,
                   (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
              AND NOT c.relispartition
              AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                          AND a.attname IN ('township_code') AND NOT a.attisdropped)
            ORDER BY 1
            """
        )
    ).all()
    assert len(rows) >= 15
    unprotected = [r.relname for r in rows if not (r.relrowsecurity and r[2])]
    assert unprotected == []
    owner_tables = session.execute(
        text(
            "SELECT count(*) FROM pg_class WHERE relname = 'townships' "
            "AND relrowsecurity"
        )
    ).scalar()
    assert owner_tables == 1


@pytest.mark.parametrize("service_role", ROLES)
def test_service_role_owns_nothing_and_cannot_bypass(
    session: Session, service_role: str
) -> None:
    role = session.execute(
        text(
            "SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles "
            "WHERE rolname = :r"
        ),
        {"r": service_role},
    ).one()
    assert tuple(role) == (False, False, False)
    owned = session.execute(
        text("SELECT count(*) FROM pg_class WHERE relowner = to_regrole(:r)"),
        {"r": service_role},
    ).scalar()
    assert owned == 0


@pytest.mark.parametrize("service_role", ROLES)
def test_every_service_role_has_a_policy_on_every_protected_table(
    session: Session, service_role: str
) -> None:
    """A table given policies for some roles only would hide everything from others."""
    missing = session.execute(
        text(
            """
            SELECT c.relname FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relrowsecurity
              AND NOT EXISTS (SELECT 1 FROM pg_policies p
                              WHERE p.tablename = c.relname
                                AND CAST(:role AS name) = ANY (p.roles)
                                AND p.permissive = 'PERMISSIVE')
            ORDER BY 1
            """
        ),
        {"role": service_role},
    ).scalars()
    assert list(missing) == []


@pytest.mark.parametrize("user", ["admin_a", "leader_a"])
def test_a_bbox_under_rls_can_use_the_gist_index(session: Session, user: str) -> None:
    """Spatial predicates are LEAKPROOF (0085): policies do not bar the index."""
    make_world(session)
    session.execute(text("SET LOCAL enable_seqscan = off"))
    scoped(session, user)
    try:
        plan = "\n".join(
            session.execute(
                text(
                    "EXPLAIN SELECT id FROM households WHERE ST_Intersects(geom,"
                    " ST_MakeEnvelope(102.0, 37.0, 102.1, 37.1, 4326))"
                )
            ).scalars()
        )
    finally:
        clear_scope(session)
    assert "Index Cond: (geom && " in plan, plan
