"""Route map rendering, PURE: an ordered route as plain data in, folium.Map out."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from typing import Any

import folium
import numpy as np

from maps.render.basemaps import MapOptions, new_map, shift_collection, shift_lonlat
from maps.render.elements import HouseholdLayer, MapControl, encode_points
from maps.render.labels import add_labels, border_style
from maps.render.page import (
    bounds_of,
    escaped_features,
    finish_map,
    html_table,
    tooltip_text,
)
from maps.render.palette import (
    CONTEXT_COLOR,
    DAY_COLORS,
    HAZARD_STOP_COLOR,
    OFFROAD_COLOR,
    STOP_COLOR,
)

logger = logging.getLogger(__name__)

PATH_COLOR = DAY_COLORS[0]


@dataclass
class RouteData:
    """An ordered visiting route of one cadre.

    ``stops``: dicts with seq (1..n in visit order over all days), day, lon, lat,
    label, optional detail and ``flagged`` (reached by an off-road straight leg);
    ``start``: lon, lat, label (None: the walk starts at stop 1); ``lines``: one
    [[lon, lat], ...] path per day (along the roads where the planner followed
    them); ``offroad_legs``: the [[lon, lat], [lon, lat]] legs walked straight off
    the roads, drawn flagged; ``length_m`` and ``duration_s`` the totals shown;
    ``note`` how it was planned; ``flags`` the planner's warnings.
    """

    cadre: dict[str, Any]
    stops: list[dict[str, Any]]
    lines: list[list[list[float]]]
    length_m: float
    duration_s: float
    start: dict[str, Any] | None = None
    note: str | None = None
    flags: list[str] = field(default_factory=list)
    offroad_legs: list[list[list[float]]] = field(default_factory=list)
    # Context, so the map reads without a basemap: the cadre's grids (a
    # FeatureCollection as the coverage map's, with name and label points) and the
    # other households there ([{lon, lat}], drawn faint).
    grids: dict[str, Any] = field(
        default_factory=lambda: {"type": "FeatureCollection", "features": []}
    )
    context: list[dict[str, Any]] = field(default_factory=list)


def _noun(stop: dict[str, Any]) -> str:
    """What a stop is, as the popup names it."""
    return "农户" if stop.get("kind", "household") == "household" else "隐患复查"


def route_summary_html(route: RouteData) -> str:
    """The summary box: cadre, stops, total length and time, planner warnings."""
    minutes = route.duration_s / 60
    hours, mins = divmod(round(minutes), 60)
    time_text = f"{hours} 小时 {mins} 分" if hours else f"{mins} 分钟"
    name = html.escape(f"{route.cadre.get('name', '')} ({route.cadre.get('code', '')})")
    note = f"<br><small>{html.escape(route.note)}</small>" if route.note else ""
    flags = "".join(
        f"<br><small class='gridgis-flag'>⚠ {html.escape(f)}</small>"
        for f in route.flags
    )
    days = f" · {len(route.lines)} 天" if len(route.lines) > 1 else ""
    legend = (
        f"<br><i class='sw' style='background:{DAY_COLORS[0]}'></i>路线"
        f" <i class='sw' style='background:{OFFROAD_COLOR}'></i>离路直线"
        f"<br><i class='dot' style='background:{STOP_COLOR}'></i>走访顺序"
        f" <i class='dot' style='background:{HAZARD_STOP_COLOR}'></i>隐患复查"
        f" <i class='dot' style='background:{CONTEXT_COLOR}'></i>网格内其他农户"
    )
    extra = sum(1 for s in route.stops if s.get("kind", "household") != "household")
    homes = len(route.stops) - extra
    checks = (
        f" + <span data-hazard-stops='{extra}'>{extra} 处隐患复查</span>"
        if extra
        else ""
    )
    return (
        f"<h4>走访路线: {name}</h4>"
        f"<span data-stops='{len(route.stops)}'>{homes} 户</span>{checks}{days} · "
        f"<span data-length-m='{route.length_m:.0f}'>"
        f"{route.length_m / 1000:.2f} km</span>"
        f" · <span data-duration-s='{route.duration_s:.0f}'>{time_text}</span>"
        f"{note}{flags}{legend}"
    )


def _latlngs(coords: Any, options: MapOptions) -> list[tuple[float, float]]:
    """[[lon, lat], ...] as shifted (lat, lon) pairs for Leaflet."""
    xy = np.asarray(coords, dtype=float).reshape(-1, 2)
    x, y = shift_lonlat(xy[:, 0], xy[:, 1], options)
    return list(zip(y.tolist(), x.tolist(), strict=True))


def _add_paths(m: folium.Map, route: RouteData, options: MapOptions) -> list[Any]:
    """Each day's path, then the off-road legs dashed on top; returns all vertices."""
    group = folium.FeatureGroup(name="路线").add_to(m)
    drawn: list[Any] = []
    many = len(route.lines) > 1
    for day, line in enumerate(route.lines, start=1):
        if len(line) < 2:
            continue
        latlngs = _latlngs(line, options)
        drawn.extend(latlngs)
        folium.PolyLine(  # type: ignore[no-untyped-call]
            latlngs,
            color=DAY_COLORS[(day - 1) % len(DAY_COLORS)],
            weight=4,
            opacity=0.8,
            tooltip=f"第 {day} 天" if many else "走访路线",
        ).add_to(group)
    if route.offroad_legs:
        offroad = folium.FeatureGroup(
            name=f"离路直线段 ({len(route.offroad_legs)})"
        ).add_to(m)
        for leg in route.offroad_legs:
            folium.PolyLine(  # type: ignore[no-untyped-call]
                _latlngs(leg, options),
                color=OFFROAD_COLOR,
                weight=3,
                dash_array="6 6",
                tooltip="离路: 直线步行",
            ).add_to(offroad)
    return drawn


def _add_context(m: folium.Map, route: RouteData, options: MapOptions) -> None:
    """The cadre's grid outlines and names, and the other households, faint."""
    grids = shift_collection(route.grids, options)
    if grids["features"]:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": escaped_features(
                grids["features"], ("name", "code"))},
            name="网格边界",
            style_function=lambda f: {**border_style(2, False), "fillOpacity": 0},
            interactive=False,
        ).add_to(m)  # fmt: skip
        add_labels(m, grids["features"], options)
    if route.context:
        lon, lat = shift_lonlat(
            np.array([h["lon"] for h in route.context], dtype=float),
            np.array([h["lat"] for h in route.context], dtype=float),
            options,
        )
        payload, _ = encode_points(lon, lat, np.zeros(len(lon), dtype=bool))
        HouseholdLayer(
            payload, key="context", name=f"网格内其他农户 ({len(lon)})",
            color=CONTEXT_COLOR, label="网格内其他农户", pane="gridgisContext",
            radius=0.7, hit=False,
        ).add_to(m)  # fmt: skip


def render_route(route: RouteData, options: MapOptions) -> folium.Map:
    """Numbered stops in visit order, the path, the start and the totals."""
    m = new_map(options)
    _add_context(m, route, options)
    drawn = _add_paths(m, route, options)
    stops = folium.FeatureGroup(name=f"走访顺序 ({len(route.stops)})").add_to(m)
    sx, sy = shift_lonlat(
        np.array([s["lon"] for s in route.stops], dtype=float),
        np.array([s["lat"] for s in route.stops], dtype=float),
        options,
    )
    for stop, x, y in zip(route.stops, sx, sy, strict=True):
        css = "gridgis-stop flagged" if stop.get("flagged") else "gridgis-stop"
        if stop.get("kind", "household") != "household":
            css += " extra"  # a hazard re-check: drawn apart from the households
        folium.Marker(
            [float(y), float(x)],
            icon=folium.DivIcon(
                html=f"<div class='{css}'>{int(stop['seq'])}</div>",
                icon_size=(24, 24),
                icon_anchor=(12, 12),
                class_name="gridgis-stop-icon",
            ),
            tooltip=tooltip_text(f"{int(stop['seq'])}. {stop.get('label', '')}"),
            popup=folium.Popup(
                html_table(
                    [("顺序", stop["seq"]), (_noun(stop), stop.get("label"))]
                    + [(k, v) for k, v in stop.get("detail", {}).items()]
                ),
                max_width=300,
            ),
        ).add_to(stops)
    xs = [lng for _, lng in drawn] + sx.tolist()
    ys = [lat for lat, _ in drawn] + sy.tolist()
    if route.start is not None:
        (bx,), (by,) = shift_lonlat(
            np.array([route.start["lon"]]), np.array([route.start["lat"]]), options
        )
        folium.Marker(
            [float(by), float(bx)],
            icon=folium.Icon(color="darkblue", icon="house", prefix="fa"),
            tooltip=tooltip_text(f"起点: {route.start.get('label', '')}"),
        ).add_to(folium.FeatureGroup(name="起点").add_to(m))
        xs.append(float(bx))
        ys.append(float(by))
    m.add_child(
        MapControl(
            route_summary_html(route),
            element_id="gridgis-route-summary",
            css_class="gridgis-info",
            position="topright",
        )
    )
    cadre = route.cadre.get("name") or route.cadre.get("code") or ""
    finish_map(m, options, bounds_of([], xs, ys), title=f"{cadre} · 走访路线图")
    return m
