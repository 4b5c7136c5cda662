"""No script from data: a payload in every text field, every page walked in Chromium.

Every text column of every layer (and the township's name) gets
``<img src=x onerror=alert(1)>`` appended; each page is opened, every tooltip
and popup of every map layer is opened, and no dialog may fire. The pages are
served without their CSP here, so escaping alone is what is proven; a second
test serves them with the policy and checks that the maps still work under it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.factories import TOWNSHIP
from tests.maps.factories_maps import AS_OF, build_map_township
from tests.maps.test_map_browser import CHROMIUM, ORIGIN, browser  # noqa: F401

pytestmark = pytest.mark.browser

PAYLOAD = "<img src=x onerror=alert(1)>"
TABLES = (
    "townships",
    "grids",
    "cadres",
    "households",
    "hazards",
    "pasture_parcels",
    "roads",
    "disputes",
    "visits",
    "demands",
)
OPEN_ALL = """
(points) => {
  let opened = 0;
  const visit = (layer) => {
    if (layer.eachLayer) layer.eachLayer(visit);
    let at = null;
    try {
      at = layer.getLatLng ? layer.getLatLng()
         : layer.getBounds ? layer.getBounds().getCenter() : null;
    } catch (e) { return; }
    if (!at) return;
    layer.fire('mouseover', {latlng: at}, true);
    if (layer.getTooltip && layer.getTooltip()) { layer.openTooltip(at); opened++; }
    if (layer.getPopup && layer.getPopup()) { layer.openPopup(at); opened++; }
  };
  Object.values(window).filter(v => v instanceof L.Map)
    .forEach(m => m.eachLayer(visit));
  for (const layer of Object.values(window.GridGIS ? GridGIS.layers : {})) {
    for (const [lat, lon] of points) {
      layer._onClick({latlng: L.latLng(lat, lon)}); opened++;
    }
  }
  return opened;
}
"""


def poison(session: Session, payload: str = PAYLOAD) -> dict[str, int]:
    """Append ``payload`` to every text column that takes it; count per table."""
    columns = session.execute(
        text(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = ANY(:t)"
            " AND data_type IN ('text', 'character varying')"
        ),
        {"t": list(TABLES)},
    ).all()
    done: dict[str, int] = {}
    for table, column in columns:
        if column in ("township_code",) or (table == "townships" and column == "code"):
            continue
        savepoint = session.begin_nested()
        try:  # a CHECK (enums such as status or kind) may refuse it: skip those
            session.execute(
                text(f'UPDATE {table} SET "{column}" = "{column}" || :p'),
                {"p": payload},
            )
            savepoint.commit()
            done[table] = done.get(table, 0) + 1
        except Exception:
            savepoint.rollback()
    return done


def _walk(chromium: Any, client: TestClient, path: str, points: list[Any]) -> Any:
    dialogs: list[str] = []
    errors: list[str] = []
    page = chromium.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))

    def answer(route: Any) -> None:
        url = route.request.url
        if not url.startswith(ORIGIN):
            route.abort()
            return
        response = client.get(url[len(ORIGIN) :])
        route.fulfill(
            status=response.status_code,
            headers={"content-type": response.headers.get("content-type", "")},
            body=response.content,
        )

    page.route("**/*", answer)
    response = page.goto(ORIGIN + path, wait_until="load")
    assert response is not None and response.status == 200, path
    opened = 0
    if page.evaluate("() => !!window.L"):
        # every overlay on, those fetched when switched on (dispute overlaps) too
        page.evaluate(
            "() => document.querySelectorAll("
            "'.leaflet-control-layers-overlays input:not(:checked)')"
            ".forEach((i) => i.click())"
        )
        page.wait_for_load_state("networkidle")
        opened = page.evaluate(OPEN_ALL, points)
    page.wait_for_timeout(400)  # a failed <img> fires onerror asynchronously
    page.close()
    return dialogs, errors, opened


def test_no_dialog_fires_on_any_page(
    browser: Any,  # noqa: F811
    client: TestClient,
    session: Session,
) -> None:
    township = build_map_township(session)
    poisoned = poison(session)
    assert {"grids", "cadres", "households", "hazards", "townships"} <= set(poisoned)
    session.flush()
    cadres = session.execute(
        text("SELECT code FROM cadres WHERE township_code = :t"), {"t": TOWNSHIP}
    ).scalars()
    points = [
        list(r)
        for r in session.execute(
            text(
                "SELECT ST_Y(geom), ST_X(geom) FROM households WHERE township_code = :t"
            ),
            {"t": TOWNSHIP},
        )
    ]
    when = f"as_of={quote(AS_OF.isoformat())}&basemap=none"
    base = f"/townships/{TOWNSHIP}/maps"
    pages = [
        "/",
        f"{base}/coverage?{when}",
        *(f"{base}/routes/{quote(c, safe='')}?{when}" for c in cadres),
        f"{base}/disputes/{township.dispute}?basemap=none",
        f"{base}/disputes/{township.closed_dispute}?basemap=none",
    ]
    total = 0
    for path in pages:
        dialogs, errors, opened = _walk(browser, client, path, points)
        assert dialogs == [], (path, dialogs)
        assert errors == [], (path, errors)
        total += opened
    assert total > 20  # tooltips and popups really were opened


def test_pages_work_under_their_csp(
    browser: Any,  # noqa: F811
    client: TestClient,
    session: Session,
) -> None:
    build_map_township(session)
    response = client.get(f"/townships/{TOWNSHIP}/maps/coverage?basemap=none")
    csp = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    violations: list[str] = []
    page = browser.new_page()
    page.on(
        "console",
        lambda m: violations.append(m.text) if m.type == "error" else None,
    )

    def answer(route: Any) -> None:
        url = route.request.url
        if not url.startswith(ORIGIN):
            route.abort()
            return
        served = client.get(url[len(ORIGIN) :])
        headers = {"content-type": served.headers.get("content-type", "")}
        if "content-security-policy" in served.headers:
            headers["content-security-policy"] = served.headers[
                "content-security-policy"
            ]
        route.fulfill(status=served.status_code, headers=headers, body=served.content)

    page.route("**/*", answer)
    page.goto(ORIGIN + f"/townships/{TOWNSHIP}/maps/coverage?basemap=none")
    page.wait_for_function("window.L && document.querySelector('.leaflet-pane')")
    assert page.evaluate("Object.keys(GridGIS.layers).length") > 0
    page.wait_for_timeout(300)
    assert not [v for v in violations if "Content Security Policy" in v], violations
    # an inline handler injected into the DOM is refused by the policy
    page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', "
        "'<img src=x onerror=\"window.pwned = 1\">')"
    )
    page.wait_for_timeout(300)
    assert page.evaluate("window.pwned === undefined")
    page.close()
    assert any("inline event handler" in v for v in violations)
