"""The maps in a real headless Chromium (Debian's), offline.

Every request of the page is answered by the app through the TestClient (the
page, then the vendored Leaflet/plugins/fonts from /static/maps); anything else
would be an internet request and is refused and recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from grids.routing.planner import plan_route
from grids.visits.schemas import RouteRequest
from maps.render.coverage import STATUS_COLORS
from maps.render.palette import CONTEXT_COLOR, DAY_COLORS, DISPUTE_COLOR
from tests.factories import TOWNSHIP
from tests.maps.factories_maps import AS_OF, STATUS, build_map_township

pytestmark = pytest.mark.browser

ORIGIN = "http://gridgis.test"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "maps"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


class Opened:
    """A page loaded through the app, with what went wrong on the way."""

    def __init__(self, browser: Any, client: TestClient, path: str, shot: str) -> None:
        self.errors: list[str] = []
        self.external: list[str] = []
        self.asked: list[str] = []
        self.page = browser.new_page(viewport={"width": 1000, "height": 700})
        self.page.on(
            "console",
            lambda m: self.errors.append(m.text) if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", lambda route: self._answer(route, client))
        self.page.goto(ORIGIN + path, wait_until="load")
        self.page.wait_for_function(
            "window.L && document.querySelector('.leaflet-pane')"
        )
        self.page.wait_for_timeout(300)  # tiles drawn, fit animation done
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / shot))

    def _answer(self, route: Any, client: TestClient) -> None:
        url = route.request.url
        if not url.startswith(ORIGIN):
            self.external.append(url)
            route.abort()
            return
        self.asked.append(url[len(ORIGIN) :])
        response = client.get(url[len(ORIGIN) :])
        route.fulfill(
            status=response.status_code,
            headers={"content-type": response.headers.get("content-type", "")},
            body=response.content,
        )

    def texts(self, selector: str) -> list[str]:
        return [t.strip() for t in self.page.locator(selector).all_inner_texts()]


PIXEL_JS = """
([key, lon, lat]) => {
  const layer = GridGIS.layers[key], map = layer._map, z = map.getZoom();
  const p = map.project([lat, lon], z);
  for (const k in layer._tiles) {
    const t = layer._tiles[k], x = p.x - t.coords.x * 256, y = p.y - t.coords.y * 256;
    if (t.coords.z === z && x >= 0 && x < 256 && y >= 0 && y < 256) {
      const ctx = t.el.getContext('2d');
      const d = ctx.getImageData(Math.floor(x), Math.floor(y), 1, 1).data;
      const hex = (v) => v.toString(16).padStart(2, '0');
      return '#' + hex(d[0]) + hex(d[1]) + hex(d[2]);
    }
  }
  return null;
}
"""


def test_coverage_map_in_chromium(
    browser: Any, client: TestClient, session: Session
) -> None:
    township = build_map_township(session)
    url = f"/townships/{TOWNSHIP}/maps/coverage?basemap=none&as_of={AS_OF.isoformat()}"
    opened = Opened(browser, client, url.replace("+", "%2B"), "coverage.png")
    page = opened.page
    assert opened.errors == [] and opened.external == []
    layers = page.evaluate(
        "Object.fromEntries(Object.entries(GridGIS.layers).map(([k, l]) =>"
        " [k, [l.count, l.priorityCount, l.drawn]]))"
    )
    expected = {s: list(STATUS.values()).count(s) for s in STATUS_COLORS}
    assert {k: v[0] for k, v in layers.items()} == expected
    assert {k: v[1] for k, v in layers.items()} == {
        "visited": 1, "overdue": 1, "never_visited": 0, "unassigned": 1
    }  # fmt: skip
    assert all(v[2] >= v[0] for v in layers.values())  # every household drawn
    # the canvas really shows each status in its colour at the household
    for status, lon, lat in (
        ("never_visited", 102.012, 37.004),  # H005
        ("visited", 102.002, 37.002),  # H001
        ("unassigned", 102.050, 37.050),  # H007
    ):
        assert page.evaluate(PIXEL_JS, [status, lon, lat]) == STATUS_COLORS[status]
    assert page.title() == "测试镇 · 走访覆盖图"
    assert page.locator(".leaflet-control-layers-expanded").count() == 0  # collapsed
    assert page.locator(".leaflet-control-scale-line").count() == 1  # metric only
    assert page.locator(".gridgis-basemap-notice").count() == 0  # no basemap asked
    page.locator(".leaflet-control-layers").hover()
    overlays = opened.texts(".leaflet-control-layers-overlays label")
    assert (
        "农户: 从未走访 (2)" in overlays
        and "农户: 未分配 (无网格或无干部) (2)" in overlays
    )
    # one layer per hazard status; the closed flood hazard HZ2 is left out by default
    assert {"隐患·已排查 (1)", "争议重叠区 (…)", "网格名称"} <= set(overlays)
    assert sum(o.startswith("网格边界") for o in overlays) == 2  # core and grid levels
    legend = page.locator("#gridgis-legend").inner_text()
    assert "从未走访 2" in legend and "重点户 3" in legend
    # hazards and dispute overlaps start switched off, then show when asked for
    assert page.locator(".leaflet-gridgisHazards-pane .gridgis-hazard").count() == 0
    assert page.locator(f"path[fill='{DISPUTE_COLOR}']").count() == 0
    # the page carries no overlap: they are fetched when switched on, then counted
    fetched = f"/townships/{TOWNSHIP}/maps/coverage/disputes"
    assert fetched not in opened.asked
    page.get_by_text("隐患·已排查 (1)").click()
    page.get_by_text("争议重叠区 (…)").click()
    page.locator(f"path[fill='{DISPUTE_COLOR}']").first.wait_for()
    page.get_by_text("争议重叠区 (1)").wait_for()
    assert opened.asked.count(fetched) == 1
    assert (
        page.locator(
            ".leaflet-gridgisHazards-pane .gridgis-hazard.found .fa-fire"
        ).count()
        == 1
    )
    assert page.locator(".gridgis-hazard .fa-water").count() == 0
    assert page.locator(f"path[fill='{DISPUTE_COLOR}']").count() == 1
    assert page.locator(".gridgis-label").count() == 3
    # a click on a household opens its masked summary
    page.evaluate(
        "GridGIS.layers.never_visited._onClick({latlng: L.latLng(37.004, 102.012)})"
    )
    popup = page.locator(".leaflet-popup-content").inner_text()
    assert "H005" in popup and "从未走访" in popup and "138****5678" in popup
    # switching a layer off removes its canvas
    before = page.locator(".gridgis-households-tile").count()
    page.get_by_text("农户: 已走访 (2)").click()
    assert page.locator(".gridgis-households-tile").count() < before
    # the fetched overlap has its popup and the link to the dispute's page
    page.evaluate(
        "(color) => Object.values(window).find((v) => v instanceof L.Map)"
        ".eachLayer((l) => l.feature && l.options.fillColor === color"
        " && l.openPopup())",
        DISPUTE_COLOR,
    )
    popup = page.locator(".leaflet-popup-content", has_text="争议")
    assert f"#{township.dispute}" in popup.inner_text()
    assert popup.locator("a.gridgis-link").get_attribute("href") == (
        f"/w/{TOWNSHIP}/disputes/{township.dispute}"
    )
    page.locator(".leaflet-control-layers").hover()
    page.get_by_text("争议重叠区 (1)").click()  # off and on: not fetched again
    page.get_by_text("争议重叠区 (1)").click()
    assert opened.asked.count(fetched) == 1 and opened.errors == []
    page.close()


def test_route_map_in_chromium(
    browser: Any, client: TestClient, session: Session
) -> None:
    build_map_township(session)
    opened = Opened(
        browser,
        client,
        f"/townships/{TOWNSHIP}/maps/routes/C1?basemap=none"
        f"&as_of={AS_OF.isoformat()}".replace("+", "%2B"),
        "route.png",
    )
    assert opened.errors == [] and opened.external == []
    plan = plan_route(
        session, township=TOWNSHIP, request=RouteRequest(cadre="C1", as_of=AS_OF)
    )
    # the planner's order: stop n is the n-th household of the plan
    assert opened.texts(".gridgis-stop") == ["1", "2", "3"]
    tooltips = [
        opened.page.evaluate(
            "([lat, lon]) => { let t = null;"
            " Object.values(window).find(v => v instanceof L.Map).eachLayer(l => {"
            " if (l.getLatLng && l.getTooltip && l.getLatLng().equals([lat, lon]))"
            " t = l.getTooltip().getContent(); });"
            " const d = document.createElement('div'); d.innerHTML = t;"
            " return d.textContent.trim(); }",
            [s.lat, s.lon],
        )
        for s in plan.days[0].stops
    ]
    assert [t.split()[0] for t in tooltips] == ["1.", "2.", "3."]
    assert [t.split()[1] for t in tooltips] == [s.household for s in plan.days[0].stops]
    summary = opened.page.locator("#gridgis-route-summary")
    assert summary.locator("[data-stops]").inner_text() == "3 户"
    assert summary.locator("[data-length-m]").get_attribute("data-length-m") == (
        f"{plan.total_m:.0f}"
    )
    assert (
        opened.page.locator(
            f"path.leaflet-interactive[stroke='{DAY_COLORS[0]}']"
        ).count()
        == 1
    )
    assert opened.page.locator(".awesome-marker .fa-house").count() == 1  # the start
    opened.page.close()


def test_dispute_map_in_chromium(
    browser: Any, client: TestClient, session: Session
) -> None:
    township = build_map_township(session)
    opened = Opened(
        browser,
        client,
        f"/townships/{TOWNSHIP}/maps/disputes/{township.dispute}?basemap=none",
        "dispute.png",
    )
    assert opened.errors == [] and opened.external == []
    summary = opened.page.locator("#gridgis-dispute-summary").inner_text()
    assert "P1: 户主H001 H001" in summary and "P2: 户主H002 H002" in summary
    assert "亩" in summary
    assert "(待调处)" in summary and "相邻地块 1" in summary  # Chinese status, context
    link = opened.page.locator("#gridgis-dispute-summary a.gridgis-link")
    assert link.get_attribute("href") == f"/w/{TOWNSHIP}/disputes/{township.dispute}"
    assert opened.page.title() == f"草场边界争议 #{township.dispute} · 争议地图"
    paths = opened.page.locator("path.leaflet-interactive")
    assert paths.count() == 4  # parcel a, parcel b, overlap, the neighbour (faint)
    assert opened.page.locator(f"path[stroke='{CONTEXT_COLOR}']").count() == 1
    assert opened.page.locator(f"path[fill='{DISPUTE_COLOR}']").count() == 1
    opened.page.close()


def test_single_file_map_opens_with_nothing_beside_it(
    browser: Any, session: Session, tmp_path: Path
) -> None:
    from gis_service.core.settings import MapSettings
    from maps.export import write_map

    build_map_township(session)
    out = tmp_path / "one" / "coverage.html"
    result = write_map(
        session, kind="coverage", township=TOWNSHIP, out=out,
        settings=MapSettings(basemap="none"), as_of=AS_OF, single_file=True,
    )  # fmt: skip
    assert result["assets"] == "inline" and list(out.parent.iterdir()) == [out]
    text = out.read_text(encoding="utf-8")
    assert "vendor/" not in text and ".ttf" not in text and "fa-brands-400" not in text
    assert result["bytes"] < 1_200_000, result["bytes"]
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    errors: list[str] = []
    fetched: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: fetched.append(r.url))
    page.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url == out.as_uri() else route.abort()
        ),
    )
    page.goto(out.as_uri(), wait_until="load")
    page.wait_for_function("window.GridGIS && GridGIS.layers.visited")
    assert errors == []
    assert [u for u in fetched if not u.startswith(("data:", out.as_uri()))] == []
    assert page.evaluate("GridGIS.layers.visited.count") == 2
    assert page.title() == "测试镇 · 走访覆盖图"
    page.close()
