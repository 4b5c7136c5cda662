"""Route map rendering, PURE: an ordered route as plain data in, folium.Map out."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import folium
import numpy as np

from gis_service.core.i18n import same
from maps.render.basemaps import (
    MapOptions,
    new_map,
    shift_collection,
    shift_lonlat,
)
from maps.render.elements import (
    HouseholdLayer,
    MapControl,
    encode_points,
    household_words,
)
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


def _noun(stop: dict[str, Any], gettext: Callable[[str], str]) -> str:
    """What a stop is, as the popup names it."""
    household = stop.get("kind", "household") == "household"
    return gettext("农户") if household else gettext("隐患复查")


def route_summary_html(route: RouteData, gettext: Callable[[str], str] = same) -> str:
    """The summary box: cadre, stops, total length and time, planner warnings."""
    # Words looked up outside the f-strings (pybabel cannot see calls inside one).
    w = {
        k: html.escape(v)
        for k, v in (
            ("route", gettext("路线")), ("offroad", gettext("离路直线")),
            ("order", gettext("走访顺序")), ("check", gettext("隐患复查")),
            ("others", gettext("网格内其他农户")),
        )
    }  # fmt: skip
    minutes = route.duration_s / 60
    hours, mins = divmod(round(minutes), 60)
    time_text = (
        gettext("{h} 小时 {m} 分").format(h=hours, m=mins)
        if hours
        else gettext("{m} 分钟").format(m=mins)
    )
    name = html.escape(f"{route.cadre.get('name', '')} ({route.cadre.get('code', '')})")
    note = f"<br><small>{html.escape(route.note)}</small>" if route.note else ""
    flags = "".join(
        f"<br><small class='gridgis-flag'>⚠ {html.escape(f)}</small>"
        for f in route.flags
    )
    days = (
        " · " + html.escape(gettext("{n} 天").format(n=len(route.lines)))
        if len(route.lines) > 1
        else ""
    )
    legend = (
        f"<br><i class='sw' style='background:{DAY_COLORS[0]}'></i>"
        f"{w['route']}"
        f" <i class='sw' style='background:{OFFROAD_COLOR}'></i>"
        f"{w['offroad']}"
        f"<br><i class='dot' style='background:{STOP_COLOR}'></i>"
        f"{w['order']}"
        f" <i class='dot' style='background:{HAZARD_STOP_COLOR}'></i>"
        f"{w['check']}"
        f" <i class='dot' style='background:{CONTEXT_COLOR}'></i>"
        f"{w['others']}"
    )
    extra = sum(1 for s in route.stops if s.get("kind", "household") != "household")
    homes = len(route.stops) - extra
    checks_text = html.escape(gettext("{n} 处隐患复查").format(n=extra))
    checks = (
        f" + <span data-hazard-stops='{extra}'>{checks_text}</span>" if extra else ""
    )
    heading = html.escape(gettext("走访路线: {name}")).format(name=name)
    homes_text = html.escape(gettext("{n} 户").format(n=homes))
    return (
        f"<h4>{heading}</h4>"
        f"<span data-stops='{len(route.stops)}'>"
        f"{homes_text}</span>{checks}{days} · "
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
    gettext = options.gettext
    group = folium.FeatureGroup(name=gettext("路线")).add_to(m)
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
            tooltip=tooltip_text(
                gettext("第 {n} 天").format(n=day) if many else gettext("走访路线")
            ),
        ).add_to(group)
    if route.offroad_legs:
        offroad = folium.FeatureGroup(
            name=gettext("离路直线段 ({n})").format(n=len(route.offroad_legs))
        ).add_to(m)
        for leg in route.offroad_legs:
            folium.PolyLine(  # type: ignore[no-untyped-call]
                _latlngs(leg, options),
                color=OFFROAD_COLOR,
                weight=3,
                dash_array="6 6",
                tooltip=tooltip_text(gettext("离路: 直线步行")),
            ).add_to(offroad)
    return drawn


def _add_context(m: folium.Map, route: RouteData, options: MapOptions) -> None:
    """The cadre's grid outlines and names, and the other households, faint."""
    gettext = options.gettext
    grids = shift_collection(route.grids, options)
    if grids["features"]:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": escaped_features(
                grids["features"], ("name", "code"))},
            name=gettext("网格边界"),
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
            payload, key="context",
            name=gettext("网格内其他农户 ({n})").format(n=len(lon)),
            color=CONTEXT_COLOR, label=gettext("网格内其他农户"),
            pane="gridgisContext", radius=0.7, hit=False,
            words=household_words(gettext),
        ).add_to(m)  # fmt: skip


def render_route(route: RouteData, options: MapOptions) -> folium.Map:
    """Numbered stops in visit order, the path, the start and the totals."""
    gettext = options.gettext
    m = new_map(options)
    _add_context(m, route, options)
    drawn = _add_paths(m, route, options)
    stops = folium.FeatureGroup(
        name=gettext("走访顺序 ({n})").format(n=len(route.stops))
    ).add_to(m)
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
                    [
                        (gettext("顺序"), stop["seq"]),
                        (_noun(stop, gettext), stop.get("label")),
                    ]
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
            tooltip=tooltip_text(
                gettext("起点: {label}").format(label=route.start.get("label", ""))
            ),
        ).add_to(folium.FeatureGroup(name=gettext("起点")).add_to(m))
        xs.append(float(bx))
        ys.append(float(by))
    m.add_child(
        MapControl(
            route_summary_html(route, gettext),
            element_id="gridgis-route-summary",
            css_class="gridgis-info",
            position="topright",
        )
    )
    cadre = route.cadre.get("name") or route.cadre.get("code") or ""
    title = gettext("{cadre} · 走访路线图").format(cadre=cadre)
    finish_map(m, options, bounds_of([], xs, ys), title=title)
    return m
