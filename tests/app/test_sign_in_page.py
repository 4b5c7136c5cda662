"""The workbench's sign-in: browsers go to the form, API clients get a 401 problem."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis_service.core.auth.users import add_user
from tests.factories import TOWNSHIP, make_township

PASSWORD = "grid leader's long password"
HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def anon(app: FastAPI, session: Session) -> TestClient:
    make_township(session)
    add_user(
        session, username="李网格", password=PASSWORD, role="admin", township=TOWNSHIP
    )
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


def test_a_browser_without_a_session_is_sent_to_the_form(anon: TestClient) -> None:
    page = f"/w/{TOWNSHIP}/uncovered?grid=G1"
    r = anon.get(page, headers=HTML)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")
    assert unquote(r.headers["location"].split("next=", 1)[1]) == page
    form = anon.get(r.headers["location"], headers=HTML)
    assert form.status_code == 200
    assert "登录" in form.text and f'value="{page}"' in form.text.replace("&amp;", "&")


def test_an_api_client_still_gets_a_401_problem(anon: TestClient) -> None:
    r = anon.get("/townships", headers={"Accept": "application/json"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


def test_wrong_password_shows_the_reason_and_sets_nothing(anon: TestClient) -> None:
    r = anon.post(
        "/login", data={"username": "李网格", "password": "nope", "next": "/"}
    )
    assert r.status_code == 401
    assert "用户名或密码不正确" in r.text
    assert "gridgis_session" not in r.headers.get("set-cookie", "")


def test_sign_in_goes_back_to_the_page_and_sign_out_clears(anon: TestClient) -> None:
    page = f"/w/{TOWNSHIP}"
    r = anon.post(
        "/login", data={"username": "李网格", "password": PASSWORD, "next": page}
    )
    assert r.status_code == 303 and r.headers["location"] == page
    assert "gridgis_session" in r.headers["set-cookie"]
    home = anon.get(page, headers=HTML)
    assert home.status_code == 200
    assert "李网格" in home.text and "退出" in home.text
    out = anon.post("/logout")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    anon.cookies.clear()  # the browser drops the expired cookies
    assert anon.get(page, headers=HTML).status_code == 303


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", ""]
)
def test_next_never_leaves_the_site(anon: TestClient, target: str) -> None:
    r = anon.post(
        "/login", data={"username": "李网格", "password": PASSWORD, "next": target}
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
