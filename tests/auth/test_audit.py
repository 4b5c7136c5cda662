"""Personal data by role, and the audit log: unmasked reads and writes leave
entries that the service's role can neither change nor delete."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gis_service.core.auth.models import User
from gis_service.core.auth.principal import resolve
from gis_service.core.auth.scope import apply_scope, clear_scope
from tests.auth.factories_scope import ID_NUMBER, IN_SCOPE, PHONE, World
from tests.factories import TOWNSHIP

A = f"/townships/{TOWNSHIP}"


def entries(session: Session, action: str) -> list[tuple[str, dict]]:
    return [
        (r.username, r.rows)
        for r in session.execute(
            text("SELECT username, rows FROM audit_log WHERE action = :a ORDER BY id"),
            {"a": action},
        )
    ]


@pytest.mark.parametrize("user", ["admin_a", "leader_a", "cadre_c1"])
def test_unmask_shows_own_scope_whole_and_is_audited(
    anon: TestClient, world: World, session: Session, user: str
) -> None:
    auth = world.headers[user]
    masked = anon.get(f"{A}/layers/households/items", headers=auth).json()
    assert {f["properties"]["phone"] for f in masked["features"]} == {"138****5678"}
    assert entries(session, "unmask") == []
    whole = anon.get(f"{A}/layers/households/items?unmask=true", headers=auth)
    assert whole.status_code == 200
    props = [f["properties"] for f in whole.json()["features"]]
    assert {p["phone"] for p in props} == {PHONE}
    assert {p["id_number"] for p in props} == {ID_NUMBER}
    assert {p["code"] for p in props} == IN_SCOPE[user]
    [(who, rows)] = entries(session, "unmask")
    assert who == user and set(rows["codes"]) == IN_SCOPE[user]
    one = anon.get(f"{A}/layers/households/items/H001?unmask=true", headers=auth)
    assert one.json()["properties"]["phone"] == PHONE
    assert entries(session, "unmask")[-1][1]["codes"] == ["H001"]
    outside = anon.get(f"{A}/layers/households/items/H006?unmask=true", headers=auth)
    assert outside.status_code == (200 if user == "admin_a" else 404)


def test_viewer_may_not_unmask(anon: TestClient, world: World) -> None:
    response = anon.get(
        f"{A}/layers/households/items?unmask=true", headers=world.headers["viewer_a"]
    )
    assert response.status_code == 403


def test_no_search_or_ordering_by_id_number(anon: TestClient, world: World) -> None:
    auth = world.headers["admin_a"]
    for query in ("id_number=" + ID_NUMBER, "sortby=id_number", "orderby=id_number"):
        response = anon.get(f"{A}/layers/households/items?{query}", headers=auth)
        body = response.json()
        # an unknown parameter is ignored, never a filter or an ordering oracle
        assert response.status_code == 200 and body["numberMatched"] == 6, query


def test_writes_are_audited_with_who_and_where(
    anon: TestClient, world: World, session: Session
) -> None:
    response = anon.patch(
        f"{A}/layers/households/items/H001",
        json={"properties": {"phone": "13900000000"}},
        headers=world.headers["cadre_c1"],
    )
    assert response.status_code == 200
    refused = anon.patch(
        f"{A}/layers/households/items/H005",
        json={"properties": {"phone": "13900000000"}},
        headers=world.headers["cadre_c1"],
    )
    assert refused.status_code == 404
    row = session.execute(
        text("SELECT username, role, method, path, township_code, address, rows "
             "FROM audit_log WHERE action = 'write'")
    ).one()  # fmt: skip
    assert row.username == "cadre_c1" and row.role == "cadre"
    assert row.method == "PATCH" and row.path.endswith("/items/H001")
    assert row.township_code == TOWNSHIP and row.address == "testclient"
    assert row.rows["path"]["code"] == "H001"


def test_admins_read_the_audit_log_others_may_not(
    anon: TestClient, world: World
) -> None:
    anon.get(
        f"{A}/layers/households/items?unmask=true", headers=world.headers["leader_a"]
    )
    admin = anon.get("/audit", headers=world.headers["admin_a"])
    assert admin.status_code == 200
    assert [e["user"] for e in admin.json()] == ["leader_a"]
    assert anon.get("/audit", headers=world.headers["admin_b"]).json() == []
    assert anon.get("/audit", headers=world.headers["leader_a"]).status_code == 403


def test_the_service_role_cannot_change_or_delete_audit_rows(
    anon: TestClient, world: World, session: Session
) -> None:
    anon.get(
        f"{A}/layers/households/items?unmask=true", headers=world.headers["admin_a"]
    )
    user = session.query(User).filter_by(username="admin_a").one()
    apply_scope(session, resolve(session, user, via="bearer"))
    try:
        for sql in (
            "UPDATE audit_log SET username = 'someone else'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with (
                pytest.raises(DBAPIError, match="permission denied"),
                session.begin_nested(),
            ):
                session.execute(text(sql))
        forged = (
            "INSERT INTO audit_log (user_id, username, role, action, method, "
            "path) VALUES (-1, 'x', 'admin', 'write', 'GET', '/')"
        )
        with (
            pytest.raises(DBAPIError, match="row-level security"),
            session.begin_nested(),
        ):
            session.execute(text(forged))
    finally:
        clear_scope(session)
    # not even the owner: a trigger refuses
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text("DELETE FROM audit_log"))
    assert session.execute(text("SELECT count(*) FROM audit_log")).scalar() == 1
