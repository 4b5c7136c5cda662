"""The grid leader's workbench, page by page, on a real demo township."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from gis_service.app.demo.load import load_demo
from gis_service.app.main import create_app
from gis_service.core.db import make_engine
from grids.models import HOUSEHOLD_TAGS
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
        # the same ledger in English: title, headers and file name from the catalogue
        english = client.get(url, params={"lang": "en"})
        assert english.status_code == 200
        sheet = load_workbook(io.BytesIO(english.content)).active
        words = [sheet.title, *(c.value for c in sheet[1])]
        assert not [w for w in words if CJK.search(str(w))], words
        assert "filename*=UTF-8''%E" not in english.headers["content-disposition"]
        client.cookies.delete("gridgis_lang")


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


# English as the second locale: every word a page writes comes from the catalogue;
# only data (names, villages, notes from the demo) may stay Chinese.
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
SWITCH = re.compile(r"<a [^>]*data-lang-switch[^>]*>[^<]*</a>")


def _data_words(demo: Engine) -> list[str]:
    """Every stored text value with Chinese in it (names, villages, notes...).

    Each page is checked with these cut out: what remains Chinese was written
    by the page, not read from the database.
    """
    with demo.connect() as conn:
        columns = conn.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns"
                " JOIN information_schema.tables USING (table_schema, table_name)"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                "   AND data_type IN ('text', 'character varying', 'ARRAY')"
            )
        ).all()
        words: set[str] = set()
        for table, column in columns:
            rows = conn.execute(
                text(f'SELECT DISTINCT "{column}"::text FROM "{table}"')
            ).scalars()
            for value in rows:
                if not value or not CJK.search(value):
                    continue
                if value.startswith("{"):  # an array: its elements are shown
                    words.update(v.strip('"') for v in value.strip("{}").split(","))
                words.add(value)
    words -= set(HOUSEHOLD_TAGS)  # a vocabulary stored as words: translated
    return sorted(words, key=len, reverse=True)


def _english(client: TestClient, response: Any, data: list[str]) -> str:
    assert response.headers["content-type"].startswith("text/html")
    body = response.text
    assert '<html lang="en">' in body, body[:200]
    assert SWITCH.search(body) and "中文" in SWITCH.search(body).group()  # type: ignore[union-attr]
    shown = html.unescape(re.sub(r"<[^>]*>", " ", SWITCH.sub(" ", body)))
    for word in data:
        shown = shown.replace(word, " ")
    left = sorted({m.group() for m in CJK.finditer(shown)})
    context = [
        shown[max(0, m.start() - 30) : m.end() + 30] for m in CJK.finditer(shown)
    ]
    assert not left, context[:5]
    return body


def test_every_page_in_english_shows_no_chinese_but_data(
    client: TestClient, demo: Engine
) -> None:
    data = _data_words(demo)
    with demo.connect() as conn:
        one = conn.execute(
            text(
                "SELECT (SELECT min(code) FROM households WHERE township_code = :t),"
                " (SELECT min(code) FROM cadres WHERE township_code = :t),"
                " (SELECT min(id) FROM disputes WHERE township_code = :t),"
                " (SELECT min(code) FROM hazards WHERE township_code = :t)"
            ),
            {"t": T},
        ).one()
    household, cadre, dispute, hazard = one
    first = client.get(f"{W}?lang=en")
    assert first.status_code == 200 and "Visit coverage by grid" in first.text
    assert "gridgis_lang=en" in first.headers["set-cookie"]
    _english(client, first, data)
    pages = [
        f"{W}/uncovered", f"{W}/uncovered?min_days=abc", f"{W}/disputes",
        f"{W}/disputes/{dispute}", f"{W}/demands", f"{W}/hazards",
        f"{W}/hazards/{hazard}", f"{W}/hazards/{hazard}/warn",
        f"{W}/households/{household}", f"{W}/cadres/{cadre}", f"{W}/visit",
        f"{W}/search?q={cadre}", "/login",
    ]  # fmt: skip
    for url in pages:  # the cookie set by ?lang=en carries the choice
        response = client.get(url)
        assert response.status_code in (200, 422), (url, response.text[:300])
        _english(client, response, data)
    invalid = client.get(f"{W}/uncovered?min_days=abc")
    assert "Days overdue must be a number" in invalid.text
    sheet = client.post(f"{W}/route", data={"cadre": cadre, "per_day": "5"})
    assert sheet.status_code == 200 and "Visit route sheet" in sheet.text
    _english(client, sheet, data)
    refused = client.post(f"{W}/route", data={"per_day": "x"})
    assert refused.status_code == 422
    assert "Households per day must be a whole number" in refused.text
    no_note = client.post(f"{W}/disputes/{dispute}/move", data={"to": "mediating"})
    assert no_note.status_code == 422
    _english(client, no_note, data)
    assert "Please write a note" in no_note.text
    client.cookies.clear()


def test_chinese_by_default_then_header_then_cookie_then_query(
    client: TestClient,
) -> None:
    assert 'lang="zh-CN"' in client.get(W).text
    default = client.get(W)
    assert "set-cookie" not in default.headers  # nothing chosen, nothing kept
    assert "Accept-Language" in default.headers["vary"]
    for header, lang in (
        ("en-US,en;q=0.9", "en"),
        ("en;q=0.8,zh-CN;q=0.8", "zh-CN"),  # a tie goes to Chinese
        ("fr,en;q=0.5,zh;q=0.4", "en"),
        ("de", "zh-CN"),
    ):
        page = client.get(W, headers={"Accept-Language": header})
        assert f'<html lang="{lang}">' in page.text, header
    client.cookies.set("gridgis_lang", "en")
    assert (
        '<html lang="en">' in client.get(W, headers={"Accept-Language": "zh-CN"}).text
    )
    back = client.get(f"{W}?lang=zh-CN")
    assert '<html lang="zh-CN">' in back.text and "各网格走访覆盖率" in back.text
    assert "gridgis_lang=zh-CN" in back.headers["set-cookie"]
    switch = SWITCH.search(back.text)
    assert switch is not None and "lang=en" in switch.group()
    client.cookies.clear()
