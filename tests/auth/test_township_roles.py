"""A scope of one township is an equality the planner folds into the query (0170);
admins and viewers of several or of all townships run as roles of their own."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.auth.models import User
from gis_service.core.auth.principal import resolve
from gis_service.core.auth.scope import (
    ALL_ROLE,
    COUNTY_ROLE,
    WIDE_ROLE,
    apply_scope,
    clear_scope,
)
from gis_service.core.auth.users import add_user
from tests.auth.factories_scope import make_world
from tests.factories import OTHER_TOWNSHIP, TOWNSHIP, make_households, make_township

THIRD = "620623103000"
COUNTY = "天祝县"


def _three_townships(session: Session) -> None:
    """A and B in one county, a third township (one household) in another."""
    make_world(session)
    make_township(session, THIRD, name="第三镇")
    make_households(session, [(103.5, 37.5)], township=THIRD)
    session.execute(
        text(
            "UPDATE townships SET county = CASE code WHEN :c THEN '古浪县' ELSE :k END"
        ),
        {"c": THIRD, "k": COUNTY},
    )
    add_user(session, username="county_admin", password="x" * 12, role="admin",
             county=COUNTY)  # fmt: skip
    add_user(session, username="first_admin", password="x" * 12, role="admin")


def _as(session: Session, username: str) -> tuple[str, dict[str, int]]:
    """The role a user's transaction runs as, and the households each township shows."""
    user = session.query(User).filter_by(username=username).one()
    apply_scope(session, resolve(session, user, via="bearer"))
    try:
        role = session.execute(text("SELECT current_user")).scalar()
        counts = session.execute(
            text("SELECT township_code, count(*) FROM households GROUP BY 1")
        ).all()
    finally:
        clear_scope(session)
    return str(role), dict(counts)


@pytest.mark.parametrize(
    ("username", "role", "seen"),
    [
        ("admin_a", WIDE_ROLE, {TOWNSHIP: 6}),
        ("county_admin", COUNTY_ROLE, {TOWNSHIP: 6, OTHER_TOWNSHIP: 2}),
        ("first_admin", ALL_ROLE, {TOWNSHIP: 6, OTHER_TOWNSHIP: 2, THIRD: 1}),
    ],
)
def test_each_township_wide_scope_sees_exactly_its_townships(
    session: Session, username: str, role: str, seen: dict[str, int]
) -> None:
    _three_townships(session)
    assert _as(session, username) == (role, seen)


def test_a_list_under_a_one_township_role_shows_nothing(session: Session) -> None:
    """A wrong role hides rows, never shows them."""
    make_world(session)
    user = session.query(User).filter_by(username="admin_a").one()
    apply_scope(session, resolve(session, user, via="bearer"))
    try:
        assert session.execute(text("SELECT current_user")).scalar() == WIDE_ROLE
        session.execute(
            text("SELECT set_config('gridgis.townships', :t, true)"),
            {"t": f"{TOWNSHIP},{OTHER_TOWNSHIP}"},
        )
        assert session.execute(text("SELECT count(*) FROM households")).scalar() == 0
    finally:
        clear_scope(session)


@pytest.mark.parametrize("username", ["admin_a", "leader_a", "cadre_c1"])
def test_one_township_is_tested_once_per_statement_not_per_row(
    session: Session, username: str
) -> None:
    """The policy's equality joins the query's own: a one-time filter, no row test."""
    make_world(session)
    user = session.query(User).filter_by(username=username).one()
    apply_scope(session, resolve(session, user, via="bearer"))
    try:
        plan = "\n".join(
            session.execute(
                text(
                    "EXPLAIN SELECT count(*) FROM households WHERE township_code = :t"
                ),
                {"t": TOWNSHIP},
            ).scalars()
        )
    finally:
        clear_scope(session)
    assert "One-Time Filter: ($0 = '620623101000'::text)" in plan, plan
    assert "gridgis.townships" not in plan and "ANY ($0)" not in plan, plan


def test_every_township_wide_policy_has_its_twins(session: Session) -> None:
    """``gridgis_county`` and ``gridgis_all`` say what ``gridgis_wide`` says, bar the
    township test: a policy added for one and not the others would change a scope."""
    rows = session.execute(
        text(
            "SELECT tablename, policyname, permissive, cmd, roles[1] FROM pg_policies"
            " WHERE roles && CAST(:r AS name[])"
        ),
        {"r": [WIDE_ROLE, COUNTY_ROLE, ALL_ROLE]},
    ).all()
    suffix = {WIDE_ROLE: "_w", COUNTY_ROLE: "_county", ALL_ROLE: "_all"}
    by_role: dict[str, set[tuple[str, str, str, str]]] = {r: set() for r in suffix}
    for table, name, permissive, cmd, role in rows:
        assert name.endswith(suffix[role]), (role, name)
        stem = name.removesuffix(suffix[role])
        by_role[role].add((table, stem, permissive, cmd))
    assert len(by_role[WIDE_ROLE]) >= 70
    assert by_role[COUNTY_ROLE] == by_role[WIDE_ROLE] == by_role[ALL_ROLE]
