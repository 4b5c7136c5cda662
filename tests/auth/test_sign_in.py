"""Sign-in: tokens, refresh, the cookie session with CSRF, 401s, lock-out."""

from __future__ import annotations

import time

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.auth import tokens
from gis_service.core.auth.users import add_user, reset_password, set_disabled
from tests.conftest import TEST_SECRET, app_settings

PASSWORD = "correct horse battery"


@pytest.fixture
def anon(app: FastAPI) -> TestClient:
    """A client that has not signed in."""
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def alice(session: Session) -> dict[str, object]:
    return add_user(session, username="alice", password=PASSWORD, role="admin")


def sign_in(client: TestClient, username: str = "alice", password: str = PASSWORD):
    return client.post(
        "/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )


def test_public_routes_need_no_user(anon: TestClient) -> None:
    assert anon.get("/health").status_code == 200
    assert anon.get("/openapi.json").status_code == 200
    assert anon.get("/docs").status_code == 200


@pytest.mark.parametrize(
    "path", ["/townships", "/auth/me", "/townships/620623101000/visits", "/"]
)
def test_everything_else_is_401_problem_json(anon: TestClient, path: str) -> None:
    response = anon.get(path)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


def test_every_api_route_requires_a_user(app: FastAPI, anon: TestClient) -> None:
    """Walk the OpenAPI: each operation but the public ones answers 401."""
    paths = app.openapi()["paths"]
    checked = 0
    for path, ops in paths.items():
        for method in ops:
            url = path.replace("{township}", "620623101000")
            for name in ("layer", "code", "grid", "cadre", "demand_id", "dispute_id"):
                url = url.replace("{" + name + "}", "1")
            response = anon.request(method.upper(), url)
            public = path in {"/health", "/auth/token", "/auth/session", "/auth/logout"}
            assert (response.status_code == 401) != public, (method, path)
            checked += 1
    assert checked > 30


def test_password_flow_then_bearer(anon: TestClient, alice: dict) -> None:
    body = sign_in(anon).json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60
    me = anon.get(
        "/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["username"] == "alice" and me.json()["townships"] is None
    # a refresh token is not an access token, and vice versa
    bad = anon.get(
        "/auth/me", headers={"Authorization": f"Bearer {body['refresh_token']}"}
    )
    assert bad.status_code == 401
    renewed = anon.post(
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    )
    assert renewed.status_code == 200 and renewed.json()["access_token"]
    wrong_kind = anon.post(
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": body["access_token"]},
    )
    assert wrong_kind.status_code == 401


def _claims(user_id: int, **over: object) -> dict[str, object]:
    now = int(time.time())
    claims = {"iss": "gridgis", "sub": str(user_id), "ver": 0, "typ": "access"}
    claims |= {"iat": now, "exp": now + 600, "jti": "x"}
    return claims | over


def test_forged_expired_and_resigned_tokens_are_401(
    anon: TestClient, alice: dict
) -> None:
    uid = alice["id"]
    cases = {
        "expired": jwt.encode(_claims(uid, exp=int(time.time()) - 5), TEST_SECRET),
        "other key": jwt.encode(_claims(uid), "another-key-of-plenty-length-123456"),
        "none alg": jwt.encode(_claims(uid), None, algorithm="none"),
        "no exp": jwt.encode(
            {k: v for k, v in _claims(uid).items() if k != "exp"}, TEST_SECRET
        ),
        "old version": jwt.encode(_claims(uid, ver=-1), TEST_SECRET),
        "garbage": "not.a.token",
    }
    good = jwt.encode(_claims(uid), TEST_SECRET)
    # a token whose payload was edited (role/sub) keeps the old signature
    head, _, sig = good.split(".")
    forged_payload = jwt.encode(_claims(uid + 1), "x").split(".")[1]
    cases["edited payload"] = f"{head}.{forged_payload}.{sig}"
    assert anon.get("/auth/me", headers={"Authorization": f"Bearer {good}"}).is_success
    for label, token in cases.items():
        response = anon.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, label
        assert response.headers["www-authenticate"].startswith("Bearer"), label


def test_reset_and_disable_end_earlier_tokens(
    anon: TestClient, alice: dict, session: Session
) -> None:
    token = sign_in(anon).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert anon.get("/auth/me", headers=auth).status_code == 200
    reset_password(session, username="alice", password=PASSWORD + "!")
    assert anon.get("/auth/me", headers=auth).status_code == 401
    token = sign_in(anon, password=PASSWORD + "!").json()["access_token"]
    set_disabled(session, username="alice", disabled=True)
    response = anon.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert sign_in(anon, password=PASSWORD + "!").status_code == 401


def test_lock_out_after_failures_until_unlocked(
    anon: TestClient, alice: dict, session: Session
) -> None:
    for _ in range(5):
        assert sign_in(anon, password="wrong password!").status_code == 401
    locked = sign_in(anon)  # the right password no longer helps
    assert locked.status_code == 401 and "locked" in locked.json()["detail"]
    row = session.execute(
        text("SELECT failed_logins, locked_at FROM users WHERE username = 'alice'")
    ).one()
    assert row.failed_logins == 5 and row.locked_at is not None
    session.execute(text("SELECT 1"))
    from gis_service.core.auth.users import unlock

    unlock(session, username="alice")
    assert sign_in(anon).status_code == 200


def test_address_rate_limit_is_429(anon: TestClient, alice: dict) -> None:
    for i in range(20):
        assert (
            sign_in(anon, username=f"nobody{i}", password="x" * 12).status_code == 401
        )
    limited = sign_in(anon)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert limited.headers["content-type"].startswith("application/problem+json")


def test_cookie_session_and_csrf(anon: TestClient, alice: dict) -> None:
    opened = anon.post(
        "/auth/session", data={"username": "alice", "password": PASSWORD}
    )
    assert opened.status_code == 200
    set_cookie = opened.headers.get_list("set-cookie")
    session_cookie = next(c for c in set_cookie if c.startswith("gridgis_session="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    csrf = opened.json()["csrf_token"]
    assert anon.get("/auth/me").json()["via"] == "cookie"
    body = {"name": "测试镇"}
    # a write by cookie without the CSRF token is refused
    refused = anon.put("/townships/620623109000", json=body)
    assert refused.status_code == 403
    wrong = anon.put(
        "/townships/620623109000", json=body, headers={"X-CSRF-Token": "nope"}
    )
    assert wrong.status_code == 403
    ok = anon.put("/townships/620623109000", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code in (200, 201), ok.text
    anon.post("/auth/logout")
    assert anon.get("/auth/me").status_code == 401


def test_generated_key_is_kept_0600(tmp_path) -> None:
    settings = app_settings("postgresql://unused")
    settings.auth.secret = None
    settings.auth.secret_file = tmp_path / "key"
    first = tokens.signing_key(settings)
    assert len(first) > 40 and tokens.signing_key(settings) == first
    assert (tmp_path / "key").stat().st_mode & 0o777 == 0o600


def test_demo_users_one_per_role_can_sign_in(
    session: Session, anon: TestClient
) -> None:
    from gis_service.app.demo.load import load_demo
    from gis_service.app.demo.users import demo_users

    load_demo(session, households=40)
    users = demo_users(session, township="620623101000")
    assert [role for _, role, _ in users] == ["admin", "grid_leader", "cadre", "viewer"]
    again = demo_users(session, township="620623101000")  # fresh passwords
    assert {p for *_, p in users}.isdisjoint({p for *_, p in again})
    for name, _, password in again:
        assert sign_in(anon, username=name, password=password).status_code == 200
