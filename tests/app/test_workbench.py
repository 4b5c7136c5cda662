"""The grid leader's workbench, page by page, on a real demo township."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from gis_service.app.demo.load import load_demo
from gis_service.app.main import create_app
from gis_service.core.db import make_engine
from tests.conftest import app_settings, bearer_for, drop_database, migrated_database

T = "620623101000"
W = f"/w/{T}"
ENGLISH_ENUMS = ("never_visited", "in_progress", "mediating", "grid_worker", " open ")


@pytest.fixture(scope="module")
def demo(server_url: URL) -> Iterator[Engine]:
    url = migrated_database(server_url)
    engine = make_engine(url.render_as_string(hide_password=False))
    with Session(engine) as session:
        load_demo(session, households=120)
        session.execute(
            text(
                "UPDATE households SET head_name = '<img src=x onerror=alert(1)>' "
                "WHERE id = (SELECT min(id) FROM households WHERE township_code = :t)"
            ),
            {"t": T},
        )
        session.commit()
    yield engine
    engine.dispose()
    drop_database(url)


@pytest.fixture
def client(demo: Engine) -> Iterator[TestClient]:
    app = create_app(app_settings(demo.url))
    app.state.engine = demo
    headers = bearer_for(demo)
    with TestClient(app, raise_server_exceptions=False, headers=headers) as test_client:
        yield test_client


def _html(client: TestClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    body = response.text
    assert "<title>" in body and 'lang="zh-CN"' in body
    assert "http://" not in body.replace("http://www.w3.org", "")  # no outside asset
    shown = re.sub(r"<[^>]*>", " ", body)  # what a reader sees, not attributes
    for word in ENGLISH_ENUMS:
        assert word not in shown, word
    return body


def test_home_opens_the_township_workbench(client: TestClient) -> None:
    first = client.get("/", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == W
    body = _html(client, W)
    for word in ("工作台", "走访覆盖率", "诉求办结率", "草场争议", "各网格走访覆盖率"):
        assert word in body
    assert "<progress" in body


def test_uncovered_list_filters_and_plans_a_route(client: TestClient) -> None:
    body = _html(client, f"{W}/uncovered")
    assert "从未走访" in body or "超期" in body
    assert "<img src=x" not in body and "&lt;img src=x" in body  # escaped
    bad = _html(client, f"{W}/uncovered?min_days=abc", status=422)
    assert "超期天数应为数字" in bad
    codes = [c.split('"')[0] for c in body.split('name="households" value="')[1:4]]
    assert len(codes) == 3
    sheet = client.post(f"{W}/route", data={"households": codes, "per_day": "14"})
    assert sheet.status_code == 200, sheet.text.split('role="alert">')[-1][:300]
    assert "走访路线单" in sheet.text and "第 1 天" in sheet.text
    assert "椭球面" in sheet.text and ("公里" in sheet.text or " 米" in sheet.text)
    for code in codes:
        assert code in sheet.text
    empty = client.post(f"{W}/route", data={"per_day": "14"})
    assert empty.status_code == 422 and "请选择" in empty.text


def test_dispute_review_moves_with_a_note(client: TestClient, demo: Engine) -> None:
    with demo.connect() as conn:
        dispute = conn.execute(
            text(
                "SELECT min(id) FROM disputes"
                " WHERE township_code = :t AND status = 'open'"
            ),
            {"t": T},
        ).scalar_one()
    listing = _html(client, f"{W}/disputes?status=open")
    assert f"#{dispute}" in listing and "亩" in listing
    page = _html(client, f"{W}/disputes/{dispute}")
    assert "调解中" in page and "m²" in page
    no_note = client.post(f"{W}/disputes/{dispute}/move", data={"to": "mediating"})
    assert no_note.status_code == 422 and "请填写处理说明" in no_note.text
    moved = client.post(
        f"{W}/disputes/{dispute}/move",
        data={"to": "mediating", "note": "约双方周三到现场"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    after = _html(client, moved.headers["location"])
    assert "草场争议 #" in after and "调解中" in after and "约双方周三到现场" in after
    illegal = client.post(
        f"{W}/disputes/{dispute}/move", data={"to": "open", "note": "退回"}
    )
    assert illegal.status_code in (409, 422)
    with demo.connect() as conn:
        status = conn.execute(
            text("SELECT status FROM disputes WHERE township_code = :t AND id = :d"),
            {"t": T, "d": dispute},
        ).scalar_one()
    assert status == "mediating"


def test_visit_form_names_bad_fields_and_saves_nothing(
    client: TestClient, demo: Engine
) -> None:
    def visits() -> int:
        with demo.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM visits")).scalar_one())

    before = visits()
    form = _html(client, f"{W}/visit")
    assert "走访登记" in form and "/static/pages/visit.js" in form
    bad = client.post(
        f"{W}/visit", data={"household": "NOPE", "purpose": "service", "lon": "999"}
    )
    assert bad.status_code == 422
    assert 'class="error"' in bad.text and "未保存" in bad.text
    assert visits() == before
    with demo.connect() as conn:
        code = conn.execute(
            text("SELECT min(code) FROM households WHERE township_code = :t"), {"t": T}
        ).scalar_one()
    ok = client.post(
        f"{W}/visit",
        data={"household": code, "purpose": "service", "notes": "家中一切正常",
              "demand": "院墙开裂", "demand_category": "safety"},
        follow_redirects=False,
    )  # fmt: skip
    assert ok.status_code == 303, ok.text[:300]
    assert "已登记走访" in _html(client, ok.headers["location"])
    assert visits() == before + 1
    household = _html(client, f"{W}/households/{code}")
    assert "家中一切正常" in household and "院墙开裂" in household


def test_demand_ledger_moves_and_downloads(client: TestClient, demo: Engine) -> None:
    body = _html(client, f"{W}/demands?status=open")
    assert "待办理" in body
    with demo.connect() as conn:
        demand = conn.execute(
            text(
                "SELECT min(id) FROM demands"
                " WHERE township_code = :t AND status = 'open'"
            ),
            {"t": T},
        ).scalar_one()
    moved = client.post(
        f"{W}/demands/{demand}/move",
        data={"to": "in_progress", "note": "已联系"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    for url, header in (
        (f"{W}/demands.xlsx", "内容"),
        (f"{W}/uncovered.xlsx", "户主"),
        (f"{W}/disputes.xlsx", "重叠面积(亩)"),
    ):
        response = client.get(url)
        assert response.status_code == 200
        book = load_workbook(io.BytesIO(response.content))
        headers = [c.value for c in book.active[1]]
        assert header in headers
        assert book.active.max_row >= 2


def test_search_and_cadre_page(client: TestClient, demo: Engine) -> None:
    with demo.connect() as conn:
        cadre = conn.execute(
            text("SELECT min(code) FROM cadres WHERE township_code = :t"), {"t": T}
        ).scalar_one()
    found = _html(client, f"{W}/search?q={cadre}")
    assert f"/cadres/{cadre}" in found and "干部" in found
    page = _html(client, f"{W}/cadres/{cadre}")
    assert "规划路线" in page
    planned = client.post(f"{W}/route", data={"cadre": cadre, "per_day": "5"})
    assert planned.status_code == 200 and "走访路线单" in planned.text
    assert f"/maps/routes/{cadre}" in planned.text
    assert client.get("/static/pages/workbench.css").status_code == 200
    assert client.get("/static/pages/..%2Fservice.py").status_code == 404
