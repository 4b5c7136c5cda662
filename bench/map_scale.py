"""Coverage map at 1k / 10k / 100k households: HTML bytes and time to the load event
in headless Chromium, GridGIS's canvas layer against the naive map with one
folium.Marker per household (run at 1k and 10k only: at 100k it is ~21 MB and
~80 s). Same generated township, same process, no basemap, local assets.

    PYTHONPATH=. .venv/bin/python bench/map_scale.py [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

import folium
import numpy as np
from playwright.sync_api import sync_playwright

from gis_service.app.demo.data import generate
from gis_service.core.privacy import mask_phone
from grids.models import PRIORITY_TAGS
from maps.assets import VENDOR_DIR
from maps.render.basemaps import MapOptions, new_map
from maps.render.coverage import (
    STATUS_LABELS,
    STATUSES,
    CoverageData,
    render_coverage,
    to_html,
)
from maps.render.page import finish_map, html_table

OUT = Path(__file__).with_name("out")
NAIVE_MAX = 10_000
OPTIONS = MapOptions(basemap="none", asset_base="vendor")
ICON_COLORS = {"visited": "green", "overdue": "orange", "never_visited": "red",
               "unassigned": "purple"}  # fmt: skip


def township(n: int) -> CoverageData:
    """The demo township's grids and n households with seeded statuses."""
    data = generate(households=n)
    rng = np.random.default_rng(n)
    status = rng.choice(STATUSES, n, p=[0.6, 0.15, 0.15, 0.1])
    hh = data.households
    households = [
        {
            "lon": g.x, "lat": g.y, "status": s,
            "priority": bool(set(tags) & set(PRIORITY_TAGS)),
            "code": code, "name": name, "members": int(members), "village": village,
            "tags": "、".join(tags), "cadre": None, "last": None,
            "phone": mask_phone(phone),
        }
        for g, s, tags, code, name, members, village, phone in zip(
            hh.geometry, status, hh.tags, hh.code, hh.head_name, hh.members,
            hh.village, hh.phone, strict=True,
        )
    ]  # fmt: skip
    grids = {"type": "FeatureCollection", "features": []}
    for row in data.grids.itertuples():
        grids["features"].append({
            "type": "Feature", "geometry": row.geometry.__geo_interface__,
            "properties": {"code": row.code, "name": row.name, "level": row.level,
                           "depth": 0 if row.parent_code is None else 1,
                           "is_leaf": row.level == "grid",
                           "households": 100, "visited": int(rng.integers(0, 100))},
        })  # fmt: skip
    return CoverageData(title=f"bench {n}", grids=grids, households=households)


def naive_map(data: CoverageData) -> folium.Map:
    """What one writes first: a folium.Marker with icon and popup per household."""
    m = new_map(OPTIONS)
    for h in data.households:
        folium.Marker(
            [h["lat"], h["lon"]],
            icon=folium.Icon(color=ICON_COLORS[h["status"]]),
            popup=html_table([("户", h["code"]), ("状态", STATUS_LABELS[h["status"]])]),
        ).add_to(m)
    finish_map(m, OPTIONS, np.array([102.2, 36.9, 102.8, 37.3]))
    return m


def measure(browser: Any, page_html: str, name: str) -> tuple[int, float, float]:
    """(bytes, seconds to render the HTML in Python, seconds to the load event)."""
    path = OUT / f"{name}.html"
    path.write_text(page_html, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri(), wait_until="load", timeout=300_000)
    load_ms = page.evaluate(
        "performance.getEntriesByType('navigation')[0].loadEventStart"
    )
    page.close()
    if errors:
        raise RuntimeError(f"{name}: {errors[:3]}")
    return len(page_html.encode()), 0.0, load_ms / 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    OUT.mkdir(exist_ok=True)
    shutil.copytree(VENDOR_DIR, OUT / "vendor", dirs_exist_ok=True)
    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--allow-file-access-from-files"],
        )  # fmt: skip
        for n in sizes:
            data = township(n)
            t0 = time.perf_counter()
            page_html = to_html(render_coverage(data, OPTIONS))
            render_s = time.perf_counter() - t0
            size, _, load_s = measure(browser, page_html, f"gridgis_{n}")
            naive = None
            if n <= NAIVE_MAX:
                t0 = time.perf_counter()
                naive_html = to_html(naive_map(data))
                naive_render = time.perf_counter() - t0
                naive = (*measure(browser, naive_html, f"naive_{n}")[::2], naive_render)
            rows.append((n, size, render_s, load_s, naive))
            print(f"{n:>7} households: GridGIS {size / 1e6:6.2f} MB, render "
                  f"{render_s:5.2f} s, load event {load_s:5.2f} s", end="")  # fmt: skip
            if naive:
                print(
                    f" | naive {naive[0] / 1e6:6.2f} MB, render {naive[2]:5.2f} s, "
                    f"load event {naive[1]:6.2f} s | ratio bytes "
                    f"x{naive[0] / size:.1f}, load x{naive[1] / load_s:.1f}"
                )
            else:
                print(" | naive not run (> 10k: ~21 MB, ~80 s at 100k)")
        browser.close()
    target = [r for r in rows if r[0] == 100_000]
    if target:
        _, size, _, load_s, _ = target[0]
        ok = size <= 4_000_000 and load_s <= 1.5
        print(f"target at 100k (<= 4 MB, <= 1.5 s): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
