"""The coverage map above the vector-tile threshold, in headless Chromium.

The browser is signed in with a session cookie of its own (a grid leader's): every
request is answered by the app with exactly the cookie the browser sent, so the
tile requests prove that the page's fetches carry the user's session and that the
tiles hold that user's scope. The threshold is lowered to 3 (the township has 6).
"""

from __future__ import annotations

from typing import Any

import mapbox_vector_tile
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from maps.render.coverage import STATUS_COLORS
from tests.auth.factories_scope import IN_SCOPE, PASSWORD, make_world
from tests.factories import TOWNSHIP
from tests.maps.test_map_browser import ORIGIN, browser  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser

USER = "leader_a"
EVIL = "<img src=x onerror=alert(1)>村"
TOPMOST_JS = """() => {
  for (const p of document.querySelectorAll('.leaflet-tile-container svg path')) {
    const r = p.getBoundingClientRect(), x = r.x + r.width / 2, y = r.y + r.height / 2;
    if (document.elementFromPoint(x, y) === p) return [x, y];
  }
  return null;
}"""


class CookiePage:
    """A page whose requests reach the app with the browser's own cookies only."""

    def __init__(self, chromium: Any, client: TestClient, cookie: str) -> None:
        self.client = client
        self.errors: list[str] = []
        self.external: list[str] = []
        self.tiles: list[tuple[int, bytes, bool]] = []  # status, body, had cookie
        self.context = chromium.new_context(viewport={"width": 900, "height": 650})
        self.context.add_cookies(
            [{"name": "gridgis_session", "value": cookie, "url": ORIGIN}]
        )
        self.page = self.context.new_page()
        self.page.on(
            "console",
            lambda m: self.errors.append(m.text) if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._answer)

    def _answer(self, route: Any) -> None:
        request = route.request
        if not request.url.startswith(ORIGIN):
            self.external.append(request.url)
            route.abort()
            return
        sent = request.all_headers().get("cookie")
        self.client.cookies.clear()
        response = self.client.get(
            request.url[len(ORIGIN) :], headers={"cookie": sent} if sent else {}
        )
        if "/ogc/tiles/" in request.url:
            self.tiles.append((response.status_code, response.content, bool(sent)))
        route.fulfill(
            status=response.status_code,
            headers={"content-type": response.headers.get("content-type", "")},
            body=response.content,
        )


def test_big_coverage_map_draws_households_from_scoped_tiles(
    browser: Any,  # noqa: F811  (the fixture)
    app: FastAPI,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_world(session)
    session.execute(
        text("UPDATE households SET village = :v WHERE township_code = :t"),
        {"v": EVIL, "t": TOWNSHIP},
    )
    session.commit()
    monkeypatch.setattr(app.state.settings.map, "vector_tiles_above", 3)
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    signed_in = client.post(
        "/auth/session", data={"username": USER, "password": PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    opened = CookiePage(browser, client, signed_in.cookies["gridgis_session"])
    page = opened.page
    try:
        response = page.goto(
            f"{ORIGIN}/townships/{TOWNSHIP}/maps/coverage?basemap=none",
            wait_until="load",
        )
        assert response is not None and response.status == 200
        html = response.text()
        assert "L.vectorGrid.protobuf" in html and "= L.gridgisHouseholds(" not in html
        page.wait_for_function(
            "() => document.querySelectorAll('.leaflet-tile-container svg path')"
            ".length > 0",
            timeout=15_000,
        )
        paths = page.locator(".leaflet-tile-container svg path")
        assert paths.count() >= len(IN_SCOPE[USER])
        fills = set(paths.evaluate_all("ps => ps.map(p => p.getAttribute('fill'))"))
        assert fills <= set(STATUS_COLORS.values()) and fills
        assert opened.tiles and all(had for _, _, had in opened.tiles)
        assert {status for status, _, _ in opened.tiles} <= {200, 204}
        codes = {
            f["properties"]["code"]
            for status, body, _ in opened.tiles
            if status == 200
            for f in mapbox_vector_tile.decode(body)["visit_status"]["features"]
        }
        assert codes == IN_SCOPE[USER]  # the leader's grid, not H005/H006
        legend = page.locator("#gridgis-legend").inner_text()
        assert "重点户" in legend
        # a click on a drawn household opens its escaped summary
        # a click on a drawn household (one on top, not a fading tile's) opens
        # its escaped summary
        # a real click on a drawn household opens its escaped summary
        point = page.evaluate(TOPMOST_JS)
        assert point is not None  # households are drawn above the grids
        page.mouse.click(*point)
        popup = page.locator(".leaflet-popup-content").inner_text()
        assert "户编号" in popup and "状态" in popup and EVIL in popup  # as text
        assert page.locator(".leaflet-popup-content img").count() == 0
        assert any(code in popup for code in IN_SCOPE[USER])
        assert opened.errors == [] and opened.external == []
    finally:
        opened.context.close()
