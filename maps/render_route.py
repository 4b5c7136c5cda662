"""Route map rendering, PURE: an ordered route as plain data in, folium.Map out."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from typing import Any

import folium
import numpy as np

from maps.basemaps import MapOptions, new_map, shift_lonlat
from maps.elements import MapControl
from maps.page import bounds_of, finish_map, html_table

logger = logging.getLogger(__name__)

PATH_COLOR = "#1565c0"


@dataclass
class RouteData:
    """An ordered visiting route of one cadre.

    ``stops``: dicts with seq (1..n in visit order), lon, lat, label and optional
    status / detail; ``start``: lon, lat, label (None: the walk starts at stop 1);
    ``path``: [[lon, lat], ...] the drawn line (straight or along roads);
    ``length_m`` and ``duration_s`` the totals shown; ``note`` how it was planned.
    """

    cadre: dict[str, Any]
    stops: list[dict[str, Any]]
    path: list[list[float]]
    length_m: float
    duration_s: float
    start: dict[str, Any] | None = None
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def route_summary_html(route: RouteData) -> str:
    """The summary box: cadre, stops, total length and time."""
    minutes = route.duration_s / 60
    hours, mins = divmod(round(minutes), 60)
    time_text = f"{hours} 小时 {mins} 分" if hours else f"{mins} 分钟"
    name = html.escape(f"{route.cadre.get('name', '')} ({route.cadre.get('code', '')})")
    note = f"<br><small>{html.escape(route.note)}</small>" if route.note else ""
    return (
        f"<h4>走访路线: {name}</h4>"
        f"<span data-stops='{len(route.stops)}'>{len(route.stops)} 户</span> · "
        f"<span data-length-m='{route.length_m:.0f}'>"
        f"{route.length_m / 1000:.2f} km</span>"
        f" · <span data-duration-s='{route.duration_s:.0f}'>{time_text}</span>{note}"
    )


def render_route(route: RouteData, options: MapOptions) -> folium.Map:
    """Numbered stops in visit order, the path, the start and the totals."""
    m = new_map(options)
    path = np.asarray(route.path, dtype=float).reshape(-1, 2)
    px, py = shift_lonlat(path[:, 0], path[:, 1], options)
    if len(path) >= 2:
        folium.PolyLine(  # type: ignore[no-untyped-call]
            list(zip(py.tolist(), px.tolist(), strict=True)),
            color=PATH_COLOR,
            weight=4,
            opacity=0.8,
            tooltip="走访路线",
        ).add_to(folium.FeatureGroup(name="路线").add_to(m))
    stops = folium.FeatureGroup(name=f"走访顺序 ({len(route.stops)})").add_to(m)
    sx, sy = shift_lonlat(
        np.array([s["lon"] for s in route.stops], dtype=float),
        np.array([s["lat"] for s in route.stops], dtype=float),
        options,
    )
    for stop, x, y in zip(route.stops, sx, sy, strict=True):
        folium.Marker(
            [float(y), float(x)],
            icon=folium.DivIcon(
                html=f"<div class='gridgis-stop'>{int(stop['seq'])}</div>",
                icon_size=(24, 24),
                icon_anchor=(12, 12),
                class_name="gridgis-stop-icon",
            ),
            tooltip=f"{int(stop['seq'])}. {stop.get('label', '')}",
            popup=folium.Popup(
                html_table(
                    [("顺序", stop["seq"]), ("农户", stop.get("label"))]
                    + [(k, v) for k, v in stop.get("detail", {}).items()]
                ),
                max_width=300,
            ),
        ).add_to(stops)
    xs, ys = px.tolist() + sx.tolist(), py.tolist() + sy.tolist()
    if route.start is not None:
        (bx,), (by,) = shift_lonlat(
            np.array([route.start["lon"]]), np.array([route.start["lat"]]), options
        )
        folium.Marker(
            [float(by), float(bx)],
            icon=folium.Icon(color="darkblue", icon="house", prefix="fa"),
            tooltip=f"起点: {route.start.get('label', '')}",
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
    finish_map(m, options, bounds_of([], xs, ys))
    return m
