"""One colour, one meaning: the coverage map's palette, checked on a rendered page."""

from __future__ import annotations

import re

from maps.render.basemaps import MapOptions
from maps.render.coverage import CoverageData, render_coverage, to_html
from maps.render.palette import (
    COVERAGE_MAP_MEANINGS,
    COVERAGE_STEPS,
    GRID_FILL_OPACITY,
    NO_HOUSEHOLDS_COLOR,
    STATUS_COLORS,
)

HEX = re.compile(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b")


def _rgb(color: str) -> tuple[int, int, int]:
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def _square(x: float, y: float, size: float) -> list[list[list[float]]]:
    return [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]


def _everything() -> CoverageData:
    """A map with every kind of thing the coverage map draws."""
    grids = [
        ("R", "根", "core", 0, False, 4, 4, 0.0, 0.04),
        ("D", "片区", "domain", 1, False, 4, 4, 0.0, 0.02),
        ("A", "甲", "grid", 2, True, 10, 10, 0.0, 0.01),
        ("B", "乙", "grid", 2, True, 10, 6, 0.01, 0.01),
        ("C", "丙", "grid", 2, True, 10, 5, 0.02, 0.01),
        ("E", "丁", "grid", 2, True, 10, 1, 0.03, 0.01),
        ("F", "戊", "grid", 2, True, 0, 0, 0.0, 0.01),
    ]
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": _square(102 + x, 37.0, s)},
            "properties": {
                "code": code, "name": name, "level": level, "depth": depth,
                "is_leaf": leaf, "households": n, "visited": v,
                "label_lon": 102 + x + s / 2, "label_lat": 37.0 + s / 2,
            },
        }
        for code, name, level, depth, leaf, n, v, x, s in grids
    ]  # fmt: skip
    households = [
        {"lon": 102.001 + i * 1e-3, "lat": 37.001, "status": s, "priority": i % 2 == 0,
         "code": f"H{i}", "cadre_code": "C1"}
        for i, s in enumerate(STATUS_COLORS)
    ]  # fmt: skip
    hazards = [
        {"lon": 102.002, "lat": 37.003, "code": f"HZ{i}", "kind": "fire",
         "status": s, "warn_radius_m": 200.0, "severity": "high"}
        for i, s in enumerate(("found", "rectifying", "closed"))
    ]  # fmt: skip
    hazards.append({**hazards[0], "code": "HZP", "outline": _square(102, 37, 1e-3)[0]})
    hazards[-1]["outline"] = {"type": "Polygon", "coordinates": _square(102, 37, 1e-3)}
    disputes = {
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": _square(102.005, 37, 1e-3)},
            "properties": {"id": 7, "status": "open", "overlap_area_m2": 900.0,
                           "parcel_a": "P1", "parcel_b": "P2"},
        }],
    }  # fmt: skip
    return CoverageData(
        title="t", grids={"type": "FeatureCollection", "features": features},
        households=households, hazards=hazards, disputes=disputes,
        links={"cadre": "/w/T/cadres/{code}", "dispute": "/w/T/disputes/{id}"},
    )  # fmt: skip


def test_no_colour_stands_for_two_things() -> None:
    colours = [c.lower() for c, _ in COVERAGE_MAP_MEANINGS]
    repeated = {c for c in colours if colours.count(c) > 1}
    assert not repeated, [m for m in COVERAGE_MAP_MEANINGS if m[0] in repeated]


def test_a_rendered_coverage_map_uses_only_the_palette() -> None:
    page = to_html(render_coverage(_everything(), MapOptions(basemap="none")))
    body = page.split("</head>", 1)[1]  # the map itself; the header holds page CSS
    used = {c.lower() for c in HEX.findall(body)}
    known = {c.lower() for c, _ in COVERAGE_MAP_MEANINGS}
    assert used - known == set()
    # every meaning the legend explains is drawn: ramp, statuses, hazards, overlap
    assert {c for _, c in COVERAGE_STEPS} | set(STATUS_COLORS.values()) <= used


def test_points_stand_out_from_every_fill() -> None:
    """A household's colour is far from every grid fill as seen (over white)."""
    fills = [c for _, c in COVERAGE_STEPS] + [NO_HOUSEHOLDS_COLOR]
    for point in STATUS_COLORS.values():
        for fill in fills:
            seen = [
                GRID_FILL_OPACITY * v + (1 - GRID_FILL_OPACITY) * 255
                for v in _rgb(fill)
            ]
            distance = sum((a - b) ** 2 for a, b in zip(_rgb(point), seen, strict=True))
            assert distance**0.5 > 100, (point, fill)
