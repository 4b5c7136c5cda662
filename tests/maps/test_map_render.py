"""Pure rendering rules: colours, borders, encoding, GCJ-02, local assets."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from gis_service.core.gcj02 import wgs84_to_gcj02
from maps.render.basemaps import MapOptions
from maps.render.coverage import (
    HAZARD_MARKER_LIMIT,
    STATUS_COLORS,
    CoverageData,
    border_style,
    coverage_color,
    render_coverage,
    status_counts,
    to_html,
)
from maps.render.elements import decode_points, encode_points


@pytest.mark.parametrize(
    ("coverage", "color"),
    [
        (None, "#d9d9d9"),
        (0.0, "#6a51a3"),
        (0.49, "#6a51a3"),
        (0.5, "#9e9ac8"),
        (0.7, "#cbc9e2"),
        (0.89, "#cbc9e2"),
        (0.9, "#f2f0f7"),
        (1.0, "#f2f0f7"),
    ],
)
def test_coverage_colour_steps(coverage: float | None, color: str) -> None:
    assert coverage_color(coverage) == color


def test_status_colours_are_distinct_and_complete() -> None:
    assert set(STATUS_COLORS) == {"visited", "overdue", "never_visited", "unassigned"}
    assert len(set(STATUS_COLORS.values())) == 4


@pytest.mark.parametrize(
    ("depth", "leaf", "weight", "fill", "dashed"),
    [(0, False, 4.5, False, False), (1, False, 3.0, False, False),
     (2, True, 1.5, True, False), (3, True, 1.0, True, True)],
)  # fmt: skip
def test_borders_by_hierarchy_level(
    depth: int, leaf: bool, weight: float, fill: bool, dashed: bool
) -> None:
    style = border_style(depth, leaf)
    assert (style["weight"], style["fill"], "dashArray" in style) == (
        weight,
        fill,
        dashed,
    )


def test_status_counts_has_every_status() -> None:
    rows = [{"status": "visited"}, {"status": "visited"}, {"status": "unassigned"}]
    assert status_counts(rows) == {
        "visited": 2, "overdue": 0, "never_visited": 0, "unassigned": 1
    }  # fmt: skip


def test_point_encoding_round_trips_to_a_metre() -> None:
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(102, 103, 500), rng.uniform(37, 38, 500)
    payload, order = encode_points(lon, lat, np.zeros(500, dtype=bool))
    x, y = decode_points(payload)
    assert np.abs(x - lon[order]).max() <= 0.5e-5 + 1e-9
    assert np.abs(y - lat[order]).max() <= 0.5e-5 + 1e-9
    assert min(payload["dx"]) >= 0  # sorted by longitude: small positive deltas


def test_gcj02_forward_matches_the_published_reference() -> None:
    lon, lat = wgs84_to_gcj02(128.543, 37.065)
    assert (float(lon), float(lat)) == pytest.approx(
        (128.54820547949757, 37.065651049489816)
    )
    lon, lat = wgs84_to_gcj02(np.array([2.35, 102.5]), np.array([48.85, 37.1]))
    assert (lon[0], lat[0]) == (2.35, 48.85)  # outside China: unchanged
    assert 0.001 < lon[1] - 102.5 < 0.003 and 0.0001 < lat[1] - 37.1 < 0.0005


def _data() -> CoverageData:
    square = [
        [[102.0, 37.0], [102.01, 37.0], [102.01, 37.01], [102.0, 37.01], [102.0, 37.0]]
    ]
    grids = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Polygon", "coordinates": square},
        "properties": {"code": "A", "name": "甲", "level": "grid", "depth": 0,
                       "is_leaf": True, "households": 2, "visited": 1}}]}  # fmt: skip
    households = [
        {"lon": 102.002, "lat": 37.002, "status": "visited", "priority": True},
        {"lon": 102.004, "lat": 37.004, "status": "unassigned", "priority": False},
    ]
    return CoverageData(title="t", grids=grids, households=households)


def _payloads(page: str) -> dict[str, dict]:
    found = re.findall(
        r"L\.gridgisHouseholds\(\s*(\{.*?\}),\s*(\{.*?\})\);", page, re.S
    )
    return {json.loads(opts)["label"]: json.loads(data) for data, opts in found}


def test_amap_basemap_shifts_overlays_to_gcj02() -> None:
    wgs = _payloads(to_html(render_coverage(_data(), MapOptions(basemap="none"))))
    gcj = _payloads(to_html(render_coverage(_data(), MapOptions(basemap="amap"))))
    lon, lat = wgs84_to_gcj02(102.002, 37.002)
    assert [float(v[0]) for v in decode_points(wgs["已走访"])] == pytest.approx(
        [102.002, 37.002], abs=1e-5
    )
    assert [float(v[0]) for v in decode_points(gcj["已走访"])] == pytest.approx(
        [float(lon), float(lat)], abs=1e-5
    )
    assert float(lon) - 102.002 > 1e-3  # a real shift, ~180 m here
    assert gcj["已走访"]["p"] == [1]


@pytest.mark.parametrize("basemap", ["none", "osm", "amap"])
def test_local_assets_leave_no_cdn_link(basemap: str) -> None:
    page = to_html(render_coverage(_data(), MapOptions(basemap=basemap)))
    links = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', page)
    assert links and all(u.startswith("/static/maps/vendor/") for u in links), links
    assert "maxZoom" in page  # set even without a tile layer


def test_cdn_assets_stay_an_option() -> None:
    page = to_html(render_coverage(_data(), MapOptions(basemap="none", assets="cdn")))
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js" in page


def test_bad_map_options_are_refused() -> None:
    with pytest.raises(ValueError, match="basemap 'google'"):
        MapOptions(basemap="google")
    with pytest.raises(ValueError, match="tianditu_key"):
        MapOptions(basemap="tianditu")
    page = to_html(
        render_coverage(_data(), MapOptions(basemap="tianditu", tianditu_key="K1"))
    )
    assert "tianditu.gov.cn/vec_w/wmts" in page and "tk=K1" in page


def test_many_hazards_are_one_compact_layer() -> None:
    hazards = [
        {"lon": 102.0 + i * 1e-4, "lat": 37.0, "code": f"HZ{i}", "kind": "fire",
         "status": ["found", "rectifying", "closed"][i % 3], "warn_radius_m": 300.0}
        for i in range(HAZARD_MARKER_LIMIT + 700)
    ]  # fmt: skip
    few = CoverageData(
        title="t", grids=_data().grids, households=[], hazards=hazards[:5]
    )
    many = CoverageData(title="t", grids=_data().grids, households=[], hazards=hazards)
    few_page = to_html(render_coverage(few, MapOptions(basemap="none")))
    many_page = to_html(render_coverage(many, MapOptions(basemap="none")))
    assert few_page.count("L.marker(") == 5  # few: one icon marker each
    assert many_page.count("L.marker(") == 0
    assert '"HZ999"' in many_page  # every hazard is in the layer
    assert len(many_page) - len(few_page) < 250 * len(hazards)  # bytes per hazard


@pytest.mark.parametrize(
    ("configured", "key", "expected"),
    [(None, None, "none"), (None, "K1", "tianditu"), ("osm", None, "osm"),
     ("amap", "K1", "amap")],
)  # fmt: skip
def test_default_basemap_is_tianditu_with_a_key_else_none(
    configured: str | None, key: str | None, expected: str
) -> None:
    from gis_service.core.settings import MapSettings
    from maps.service import default_basemap, map_options

    settings = MapSettings(basemap=configured, tianditu_key=key)
    assert default_basemap(settings) == expected
    assert map_options(settings).basemap == expected
    assert map_options(settings, basemap="none").basemap == "none"  # ?basemap= wins
