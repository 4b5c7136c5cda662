"""The workbench's hazard ledger, role-aware header, and the once-only visit form."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gis_service.app.main import create_app
from gis_service.core.auth.passwords import hash_password
from tests.app import test_workbench as wb
from tests.conftest import app_settings, bearer_for

demo = wb.demo
client = wb.client
T = wb.T
W = wb.W
_html = wb._html


def _one(demo: Engine, sql: str) -> str:
    with demo.connect() as conn:
        return str(conn.execute(text(sql), {"t": T}).scalar_one())


def _status(demo: Engine, code: str) -> str:
    with demo.connect() as conn:
        return str(
            conn.execute(
                text(
                    "SELECT status FROM hazards WHERE township_code = :t AND code = :c"
                ),
                {"t": T, "c": code},
            ).scalar_one()
        )


def test_hazard_ledger_lists_and_filters(client: TestClient, demo: Engine) -> None:
    code = _one(demo, "SELECT min(code) FROM hazards WHERE township_code = :t")
    body = _html(client, f"{W}/hazards")
    assert "隐患台账" in body and f"/w/{T}/hazards/{code}" in body
    for header in (
        "编号",
        "类型",
        "等级",
        "状态",
        "网格",
        "责任干部",
        "整改期限",
        "逾期",
    ):
        assert f"<th>{header}</th>" in body
    assert f'href="{W}/hazards"' in body  # in the header nav
    kind = _one(
        demo, f"SELECT kind FROM hazards WHERE township_code = :t AND code = '{code}'"
    )
    only = _html(client, f"{W}/hazards?kind={kind}&status=found")
    rows = re.findall(r'<a href="/w/\d+/hazards/([^"/]+)">', only)
    with demo.connect() as conn:
        expected = set(
            conn.execute(
                text(
                    "SELECT code FROM hazards WHERE township_code = :t"
                    " AND kind = :k AND status = 'found'"
                ),
                {"t": T, "k": kind},
            ).scalars()
        )
    assert set(rows) == expected
    overdue = _html(client, f"{W}/hazards?overdue=true")
    assert "只看整改逾期" in overdue
    bad = _html(client, f"{W}/hazards?kind=volcano", status=422)
    assert 'role="alert"' in bad


def test_hazard_moves_found_rectifying_closed(client: TestClient, demo: Engine) -> None:
    code = _one(
        demo,
        "SELECT min(code) FROM hazards WHERE township_code = :t AND status = 'found'",
    )
    page = _html(client, f"{W}/hazards/{code}")
    assert "台账记录" in page and "整改中" in page and 'name="csrf_token"' in page
    assert f"{W}/hazards/{code}/warn" in page
    illegal = client.post(
        f"{W}/hazards/{code}/move", data={"to": "closed", "note": "x"}
    )
    assert illegal.status_code == 409
    assert (
        "不能从 已排查 转为 已销号" in illegal.text and "允许：整改中" in illegal.text
    )
    assert _status(demo, code) == "found"
    moved = client.post(
        f"{W}/hazards/{code}/move",
        data={"to": "rectifying", "note": "已通知户主清理柴草"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    after = _html(client, moved.headers["location"])
    assert "已保存" in after and "已通知户主清理柴草" in after
    assert _status(demo, code) == "rectifying"
    no_note = client.post(f"{W}/hazards/{code}/move", data={"to": "closed"})
    assert no_note.status_code == 422 and "销号须填写整改说明" in no_note.text
    assert _status(demo, code) == "rectifying"
    closed = client.post(
        f"{W}/hazards/{code}/move",
        data={"to": "closed", "note": "柴草已清，村委验收"},
        follow_redirects=False,
    )
    assert closed.status_code == 303 and _status(demo, code) == "closed"
    final = _html(client, f"{W}/hazards/{code}")
    assert (
        "已销号" in final
        and 'action="/w/' not in final.split("台账记录")[0].split("</header>")[1]
    )


def test_warn_list_priority_first_with_distance(
    client: TestClient, demo: Engine
) -> None:
    code = _one(
        demo,
        "SELECT min(code) FROM hazards WHERE township_code = :t AND status <> 'closed'",
    )
    body = _html(client, f"{W}/hazards/{code}/warn")
    assert "需预警农户" in body and "重点户" in body
    api = client.get(f"/townships/{T}/hazards/{code}/warn").json()
    shown = re.findall(r'<a href="/w/\d+/households/([^"]+)">', body)
    assert shown == [h["household"] for h in api["items"]]
    flags = [h["priority"] for h in api["items"]]
    assert flags == sorted(flags, reverse=True)
    if api["items"]:
        assert " 米" in body or "公里" in body


@pytest.fixture
def role_user(demo: Engine) -> Iterator[None]:
    cadre = _one(demo, "SELECT min(code) FROM cadres WHERE township_code = :t")
    with demo.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (username, role, township_code, cadre_code,"
                " password_hash) VALUES ('viewer_p', 'viewer', :t, NULL, :h),"
                " ('cadre_p', 'cadre', :t, :c, :h) ON CONFLICT DO NOTHING"
            ),
            {"t": T, "c": cadre, "h": hash_password("role-pages-password")},
        )
    yield


def _as(demo: Engine, username: str) -> TestClient:
    app = create_app(app_settings(demo.url))
    app.state.engine = demo
    return TestClient(
        app, raise_server_exceptions=False, headers=bearer_for(demo, username)
    )


def _nav(body: str) -> str:
    return body.split("<header>")[1].split("</header>")[0]


def test_header_shows_each_role_what_it_may_use(
    client: TestClient, demo: Engine, role_user: None
) -> None:
    admin = _nav(_html(client, W))
    for path in ("/uncovered", "/hazards", "/disputes", "/demands", "/visit"):
        assert f'href="{W}{path}"' in admin
    with _as(demo, "viewer_p") as viewer:
        home = _html(viewer, W)
        nav = _nav(home)
        assert f'href="{W}"' in nav and 'role="search"' not in nav
        for path in ("/uncovered", "/hazards", "/disputes", "/demands", "/visit"):
            assert f'href="{W}{path}"' not in home
        assert viewer.get(f"{W}/hazards").status_code == 403  # the server enforces
    cadre = _one(demo, "SELECT min(code) FROM cadres WHERE township_code = :t")
    with _as(demo, "cadre_p") as mine:
        nav = _nav(_html(mine, W))
        assert f'href="{W}/visit"' in nav and f'href="{W}/cadres/{cadre}"' in nav
        assert f'href="{W}/uncovered"' in nav
        for path in ("/disputes", "/demands", "/hazards"):
            assert f'href="{W}{path}"' not in nav


def test_visit_form_posted_twice_stores_one_visit(
    client: TestClient, demo: Engine
) -> None:
    def visits() -> int:
        return int(_one(demo, "SELECT count(*) FROM visits WHERE township_code = :t"))

    form = _html(client, f"{W}/visit")
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', form)
    assert key is not None
    code = _one(demo, "SELECT max(code) FROM households WHERE township_code = :t")
    data = {"household": code, "purpose": "service", "notes": "双击提交",
            "idempotency_key": key.group(1)}  # fmt: skip
    before = visits()
    answers: list[int] = []

    def submit() -> None:
        answer = client.post(f"{W}/visit", data=data, follow_redirects=False)
        answers.append(answer.status_code)
        assert answer.headers["location"].startswith(f"{W}/visit?saved=")

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    again = client.post(f"{W}/visit", data=data, follow_redirects=False)
    assert answers == [303, 303] and again.status_code == 303
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"].startswith(f"{W}/visit?saved=")
    assert visits() == before + 1
    fresh = _html(client, f"{W}/visit")
    assert key.group(1) not in fresh  # every render has its own key
    second = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', fresh)
    assert second is not None
    bad = data | {"household": "NOPE", "idempotency_key": second.group(1)}
    refused = client.post(f"{W}/visit", data=bad)
    assert refused.status_code == 422 and "未保存" in refused.text
    retry = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', refused.text)
    assert retry is not None and retry.group(1) != second.group(1)  # can correct
    assert visits() == before + 1
