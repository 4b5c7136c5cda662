"""No household is hidden at the demo township's default zoom (issue #15).

The demo (512 households, its hazards and disputes) is rendered as one file (the
--single-file export) and opened in Chromium with every layer switched on; at
each household's pixel ``document.elementFromPoint`` must find the households
layer (after the pointer arrives, as a hover or tap does), whose canvas shows the
household's own colour there. Then a real click on a household that lies under a
hazard symbol opens the household, not the hazard.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from gis_service.app.demo.data import DEMO_TOWNSHIP
from gis_service.app.demo.load import load_demo
from gis_service.core.db import make_engine
from gis_service.core.settings import MapSettings
from maps.export import write_map
from maps.render.palette import STATUS_COLORS
from tests.conftest import drop_database, migrated_database
from tests.maps.test_map_browser import ARTIFACTS, browser  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_map(
    server_url: URL, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    url = migrated_database(server_url)
    engine = make_engine(url.render_as_string(hide_password=False))
    out = tmp_path_factory.mktemp("demo") / "coverage.html"
    try:
        with Session(engine) as session:
            load_demo(session)
            session.commit()
            write_map(
                session, kind="coverage", township=DEMO_TOWNSHIP, out=out,
                settings=MapSettings(basemap="none"), single_file=True,
            )  # fmt: skip
        yield out
    finally:
        engine.dispose()
        drop_database(url)


FIND_JS = """
() => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  const box = map.getContainer(), rect = box.getBoundingClientRect();
  const hazards = [...document.querySelectorAll(
    '.leaflet-gridgisHazards-pane .gridgis-hazard')].map(e =>
      e.getBoundingClientRect());
  const out = {total: 0, outside: 0, found: 0, colour: 0, painted: 0,
               missed: [], under: []};
  const hex = (v) => v.toString(16).padStart(2, '0');
  for (const key of ['visited', 'overdue', 'never_visited', 'unassigned']) {
    const layer = GridGIS.layers[key];
    for (let i = 0; i < layer.count; i++) {
      out.total++;
      const p = map.latLngToContainerPoint([layer._lat[i], layer._lon[i]]);
      const x = rect.left + p.x, y = rect.top + p.y;
      if (p.x < 0 || p.y < 0 || p.x >= rect.width || p.y >= rect.height) {
        out.outside++; continue;
      }
      const first = document.elementFromPoint(x, y);
      first.dispatchEvent(new PointerEvent('pointermove',
        {clientX: x, clientY: y, bubbles: true}));
      const el = document.elementFromPoint(x, y);
      if (!el.classList.contains('gridgis-households-tile')) {
        out.missed.push([key, i, el.className.baseVal ?? el.className]); continue;
      }
      out.found++;
      const z = map.getZoom(), q = map.project([layer._lat[i], layer._lon[i]], z);
      for (const k in layer._tiles) {
        const t = layer._tiles[k];
        const tx = q.x - t.coords.x * 256, ty = q.y - t.coords.y * 256;
        if (t.coords.z === z && tx >= 0 && tx < 256 && ty >= 0 && ty < 256) {
          const d = t.el.getContext('2d')
            .getImageData(Math.floor(tx), Math.floor(ty), 1, 1).data;
          if (d[3] > 0) out.painted++;
          const seen = '#' + hex(d[0]) + hex(d[1]) + hex(d[2]);
          if (seen === layer.options.color) out.colour++;
        }
      }
      if (hazards.some(r => x >= r.left && x <= r.right
                            && y >= r.top && y <= r.bottom)) {
        out.under.push([x, y]);
      }
    }
  }
  return out;
}
"""


def test_every_household_is_found_at_its_pixel(browser: Any, demo_map: Path) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route(
        "**/*",
        lambda r: r.continue_() if r.request.url == demo_map.as_uri() else r.abort(),
    )
    page.goto(demo_map.as_uri(), wait_until="load")
    page.wait_for_function("window.GridGIS && GridGIS.layers.visited")
    # the worst case: every overlay switched on (hazards, closed or not, overlaps)
    page.evaluate(
        "document.querySelectorAll('.leaflet-control-layers-overlays input')"
        ".forEach(i => { if (!i.checked) i.click(); })"
    )
    page.wait_for_timeout(300)
    found = page.evaluate(FIND_JS)
    page.screenshot(path=str(ARTIFACTS / "demo-households.png"))
    assert errors == []
    assert found["total"] == 512 and found["outside"] == 0
    assert found["missed"] == [] and found["found"] == 512
    assert found["painted"] == 512  # its own layer has paint at every household
    # Its exact colour at its centre: households a few pixels apart (a village at
    # the default zoom) overlap their neighbour's white outline; 405 of 512 today.
    assert found["colour"] >= 0.75 * 512, found["colour"]
    assert set(STATUS_COLORS) == {"visited", "overdue", "never_visited", "unassigned"}
    if found["under"]:  # a household under a hazard symbol: a real click opens it
        x, y = found["under"][0]
        page.mouse.move(x, y)
        page.mouse.click(x, y)
        popup = page.locator(".leaflet-popup-content").inner_text()
        assert "户编号" in popup and "隐患" not in popup.split("\n")[0]
    page.close()
