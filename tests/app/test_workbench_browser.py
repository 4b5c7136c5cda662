"""Each role signs in and walks its workbench in headless Chromium at a phone's size.

The browser's requests are answered by the app through a TestClient, which keeps
the session cookie the sign-in form sets (so the walk is signed in the way a
browser is); any other host is refused and recorded. On every page: no script
error, nothing fetched from outside, no sideways scrolling on a 390 px screen,
and no critical or serious axe-core finding. Screenshots go to
test-artifacts/workbench/.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.settings import DisputeSettings
from layers.disputes.detect import detect_disputes
from maps.assets import VENDOR_DIR
from tests.auth.factories_scope import PASSWORD, make_world
from tests.factories import TOWNSHIP
from tests.layers.factories_disputes import make_parcels, rect
from tests.maps.test_map_browser import ORIGIN, browser  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "workbench"
AXE = VENDOR_DIR / "axe" / "axe.min.js"
W = f"/w/{TOWNSHIP}"
# user -> the pages their nav offers (what the role may open)
WALKS = {
    "admin_a": [W, f"{W}/uncovered", f"{W}/disputes", f"{W}/demands", f"{W}/hazards",
                f"{W}/visit"],
    "leader_a": [W, f"{W}/uncovered", f"{W}/demands", f"{W}/visit"],
    "cadre_c1": [W, f"{W}/cadres/C1", f"{W}/visit"],
    "viewer_a": [W],
}  # fmt: skip


class Walk:
    """One signed-in phone-sized page, its requests answered by the app."""

    def __init__(
        self, chromium: Any, client: TestClient, origin: str = ORIGIN, **page: Any
    ) -> None:
        self.origin = origin
        self.client = client
        self.errors: list[str] = []
        self.external: list[str] = []
        self.redirects: list[str] = []
        self.page = chromium.new_page(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, **page
        )
        self.page.on(
            "console",
            lambda m: self.errors.append(m.text) if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._answer)

    def _answer(self, route: Any) -> None:
        request = route.request
        if not request.url.startswith(self.origin):
            self.external.append(request.url)
            route.abort()
            return
        response = self.client.request(
            request.method,
            request.url[len(self.origin) :],
            content=request.post_data_buffer,
            headers={
                k: v
                for k, v in request.headers.items()
                if k in ("accept", "content-type", "x-csrf-token")
            },
        )
        for _ in range(5):  # Chromium does not route a fulfilled redirect's target
            if response.status_code not in (301, 302, 303, 307):
                break
            self.redirects.append(response.headers["location"])
            response = self.client.get(
                response.headers["location"],
                headers={"accept": request.headers.get("accept", "*/*")},
            )
        route.fulfill(
            status=response.status_code,
            headers={
                k: response.headers[k]
                for k in ("content-type", "content-disposition")
                if k in response.headers
            },
            body=response.content,
        )

    def sign_in(self, username: str) -> None:
        self.page.goto(self.origin + W, wait_until="load")
        assert self.redirects[-1].startswith("/login?next=")  # the form, not a 401
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")
        assert self.redirects[-1] == W  # back to the page asked for
        assert "退出" in self.page.locator("header").inner_text()

    def visit(self, path: str, shot: str) -> list[dict[str, Any]]:
        response = self.page.goto(self.origin + path, wait_until="load")
        assert response is not None and response.status == 200, (path, response)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
        overflow = self.page.evaluate(
            "document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at 390px"
        self.page.add_script_tag(path=str(AXE))
        found: list[dict[str, Any]] = self.page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']}))
              .violations.map(v => ({id: v.id, impact: v.impact,
                                     nodes: v.nodes.map(n => n.target.join(' '))}))"""
        )
        return found


@pytest.mark.parametrize("user", sorted(WALKS))
def test_each_role_walks_its_workbench_on_a_phone(
    browser: Any,  # noqa: F811  (the fixture)
    app: FastAPI,
    session: Session,
    user: str,
) -> None:
    make_world(session)
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    walk = Walk(browser, client)
    try:
        walk.sign_in(user)
        for path in WALKS[user]:
            name = path.removeprefix(W).strip("/").replace("/", "-") or "home"
            found = walk.visit(path, f"{user}-{name}.png")
            grave = [v for v in found if v["impact"] in ("critical", "serious")]
            assert grave == [], (path, grave)
        nav = walk.page.locator("header a").all_inner_texts()
        if user == "viewer_a":
            assert not any("未走访" in t or "争议" in t for t in nav), nav
        assert walk.errors == [] and walk.external == []
    finally:
        walk.page.close()


# -- the four jobs, done with the mouse and keyboard as a grid leader would ----------
def _walk(browser: Any, app: FastAPI, user: str, **page: Any) -> Walk:  # noqa: F811
    walk = Walk(browser, TestClient(app, raise_server_exceptions=False), **page)
    walk.client.follow_redirects = False
    walk.sign_in(user)
    return walk


def _shot(walk: Walk, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    walk.page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_leader_plans_a_route_from_the_uncovered_list(
    browser: Any,  # noqa: F811
    app: FastAPI,
    session: Session,
) -> None:
    world = make_world(session)
    session.execute(
        text("DELETE FROM visits WHERE township_code = :t AND household_id = ANY(:h)"),
        {"t": TOWNSHIP, "h": [world.households["H001"], world.households["H003"]]},
    )
    session.commit()
    walk = _walk(browser, app, "leader_a")
    try:
        walk.visit(f"{W}/uncovered", "job-uncovered.png")
        listed = walk.page.locator("input[name=households]").evaluate_all(
            "boxes => boxes.map(b => b.value)"
        )
        assert sorted(listed) == ["H001", "H003"]  # the leader's unvisited ones
        for code in listed:
            walk.page.check(f"input[name=households][value={code}]")
        with walk.page.expect_navigation():
            walk.page.click("text=为所选农户规划走访路线")
        sheet = walk.page.locator("main").inner_text()
        assert "走访路线单" in sheet and "共 2 户" in sheet, sheet
        rows = walk.page.locator("tbody tr").all_inner_texts()
        assert {r.split()[1] for r in rows if "H00" in r} == {"H001", "H003"}
        _shot(walk, "job-route-sheet.png")
        assert walk.errors == [] and walk.external == []
    finally:
        walk.page.close()


def test_admin_moves_a_dispute_to_mediating_with_a_note(
    browser: Any,  # noqa: F811
    app: FastAPI,
    session: Session,
) -> None:
    world = make_world(session)
    h = world.households
    make_parcels(
        session,
        [
            ("P1", rect(102.500, 37.100, 102.502, 37.102), h["H001"], None),
            ("P3", rect(102.501, 37.100, 102.503, 37.102), h["H005"], None),
        ],
    )
    detect_disputes(session, township=TOWNSHIP, thresholds=DisputeSettings())
    session.commit()
    walk = _walk(browser, app, "admin_a")
    try:
        walk.visit(f"{W}/disputes", "job-disputes.png")
        with walk.page.expect_navigation():
            walk.page.locator("tbody a[href*='/disputes/']").first.click()
        walk.page.select_option("#to", "mediating")
        walk.page.fill("#note", "约双方到村委会调解，带合同原件")
        with walk.page.expect_navigation():
            walk.page.click("text=保存")
        heading = walk.page.locator("h1").inner_text()
        assert heading.endswith("调解中"), heading
        history = walk.page.locator("ul").last.inner_text()
        assert "约双方到村委会调解，带合同原件" in history, history
        _shot(walk, "job-dispute-moved.png")
        status, note = session.execute(
            text(
                "SELECT d.status, e.note FROM disputes d JOIN dispute_events e"
                " ON e.township_code = d.township_code AND e.dispute_id = d.id"
                " WHERE d.township_code = :t ORDER BY e.id DESC LIMIT 1"
            ),
            {"t": TOWNSHIP},
        ).one()
        assert (status, note) == ("mediating", "约双方到村委会调解，带合同原件")
        assert walk.errors == [] and walk.external == []
    finally:
        walk.page.close()


def test_cadre_logs_a_visit_from_a_phone_with_its_gps_fix(
    browser: Any,  # noqa: F811
    app: FastAPI,
    session: Session,
) -> None:
    world = make_world(session)
    walk = _walk(
        browser,
        app,
        "cadre_c1",
        origin="https://gridgis.test",  # geolocation needs a secure context
        geolocation={"longitude": 102.5001, "latitude": 37.1001},
        permissions=["geolocation"],
        is_mobile=True,
        has_touch=True,
    )
    try:
        walk.visit(f"{W}/visit", "job-visit-form.png")
        walk.page.wait_for_function("document.getElementById('lon').value !== ''")
        walk.page.fill("#household", "H001")
        walk.page.select_option("#purpose", "service")
        walk.page.fill("#notes", "家中老人腿脚不便，需送药")
        walk.page.fill("#demand", "每月送一次降压药")
        with walk.page.expect_navigation():
            walk.page.tap("text=保存走访")
        saved = walk.page.locator("[role=status]").inner_text()
        assert "已登记走访" in saved and "H001" in saved, saved
        _shot(walk, "job-visit-saved.png")
        lon, lat, notes = session.execute(
            text(
                "SELECT ST_X(v.fix), ST_Y(v.fix), v.notes FROM visits v"
                " WHERE v.township_code = :t AND v.household_id = :h"
                " ORDER BY v.id DESC LIMIT 1"
            ),
            {"t": TOWNSHIP, "h": world.households["H001"]},
        ).one()
        assert (round(lon, 4), round(lat, 4)) == (102.5001, 37.1001)
        assert notes == "家中老人腿脚不便，需送药"
        raised = session.execute(
            text(
                "SELECT e.actor FROM demands d JOIN demand_events e"
                " ON e.township_code = d.township_code AND e.demand_id = d.id"
                " WHERE d.township_code = :t AND d.household_id = :h"
                " AND d.description = '每月送一次降压药'"
            ),
            {"t": TOWNSHIP, "h": world.households["H001"]},
        ).all()
        assert [r.actor for r in raised] == ["cadre_c1"]  # raised once, by the cadre
        assert walk.errors == [] and walk.external == []
    finally:
        walk.page.close()


def test_leader_downloads_the_demand_ledger(
    browser: Any,  # noqa: F811
    app: FastAPI,
    session: Session,
) -> None:
    make_world(session)
    walk = _walk(browser, app, "leader_a")
    try:
        walk.visit(f"{W}/demands", "job-demands.png")
        with walk.page.expect_download() as event:
            walk.page.click("text=下载台账 (XLSX)")
        download = event.value
        assert download.suggested_filename.endswith(".xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(download.path().read_bytes())).active
        rows = list(sheet.iter_rows(values_only=True))
        header = [str(c) for c in rows[0] if c]
        assert "农户" in " ".join(header) and "类别" in " ".join(header), header
        assert not any(c.isascii() and c.isalpha() for c in header), header
        codes = {str(c) for row in rows[1:] for c in row if str(c).startswith("H00")}
        assert codes == {"H001", "H002", "H003", "H004"}  # grid A's demands only
        assert walk.errors == [] and walk.external == []
    finally:
        walk.page.close()
