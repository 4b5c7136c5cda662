"""Hazards on the coverage map, PURE: plain dicts in, folium layers out.

One layer per status (已排查 / 整改中 / 已销号) so each can be switched off, a small
square symbol per hazard (the kind's glyph, the status's colour; closed ones
smaller and faded), a polygon hazard's outline, the warn zone of open point
hazards. All of it in the hazards pane, under the households. Every text is
escaped (tooltips are HTML in Leaflet).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import folium
import numpy as np

from gis_service.core.i18n import N_
from gis_service.core.vocab import label as vocab_label
from maps.render.basemaps import MapOptions, shift_lonlat
from maps.render.page import escaped_features, html_table, tooltip_text
from maps.render.palette import HAZARD_COLORS, HAZARD_INK

HAZARD_ICONS = {
    "fire": "fire",
    "flood": "water",
    "landslide": "mountain",
    "road": "road",
    "building": "building",
    "electrical": "bolt",
    "other": "triangle-exclamation",
}
PANE = "gridgisHazards"
HAZARD_LABELS = {
    "found": N_("已排查"),
    "rectifying": N_("整改中"),
    "closed": N_("已销号"),
}
# Above this many hazards they are drawn as one layer of dots (see _add_points).
HAZARD_MARKER_LIMIT = 300


def _kind(z: dict[str, Any], _: Callable[[str], str]) -> str:
    return _(str(z.get("kind_label") or z["kind"]))


def add_hazards(
    m: folium.Map,
    hazards: list[dict[str, Any]],
    options: MapOptions,
    *,
    show: bool = True,
) -> None:
    """Hazards grouped by status; symbols (few) or one compact dot layer (many).

    ``show``: whether the layers start switched on (closed ones never do).
    """
    lon = np.array([z["lon"] for z in hazards], dtype=float)
    lat = np.array([z["lat"] for z in hazards], dtype=float)
    lon, lat = shift_lonlat(lon, lat, options)
    _ = options.gettext
    for status, label in HAZARD_LABELS.items():
        picked = [i for i, z in enumerate(hazards) if z["status"] == status]
        if not picked:
            continue
        name = _("隐患·{status} ({n})").format(status=_(label), n=len(picked))
        group = folium.FeatureGroup(name=name, show=show and status != "closed")
        chosen = [hazards[i] for i in picked]
        if len(hazards) > HAZARD_MARKER_LIMIT:
            _add_points(group, chosen, lon[picked], lat[picked], _)
        else:
            for z, x, y in zip(chosen, lon[picked], lat[picked], strict=True):
                _add_marker(group, z, [float(y), float(x)], _)
        group.add_to(m)


def _add_marker(
    group: folium.FeatureGroup,
    z: dict[str, Any],
    where: list[float],
    _: Callable[[str], str],
) -> None:
    """One hazard: its icon, popup, outline (polygons) and warn zone (open points)."""
    radius = z.get("warn_radius_m")
    severity = vocab_label("severity", z.get("severity"))
    popup = html_table(
        [
            (_("隐患"), z["code"]),
            (_("类型"), _kind(z, _)),
            (_("等级"), _(severity) if severity else None),
            (_("状态"), _(HAZARD_LABELS.get(z["status"], z["status"]))),
            (_("说明"), z.get("description")),
            (_("整改期限"), z.get("deadline")),
            (_("预警半径"), f"{radius:.0f} m" if radius else None),
        ]
    )
    color = HAZARD_COLORS.get(z["status"], HAZARD_COLORS["closed"])
    status = z["status"] if z["status"] in HAZARD_COLORS else "closed"
    glyph = HAZARD_ICONS.get(z["kind"], "circle-exclamation")
    folium.Marker(
        where,
        icon=folium.DivIcon(
            html=(
                f"<div class='gridgis-hazard {status}' style='background:{color};"
                f"border:1px solid {HAZARD_INK};color:{HAZARD_INK}'>"
                f"<i class='fa-solid fa-{glyph}'></i></div>"
            ),
            icon_size=(16, 16),
            icon_anchor=(8, 8),
            class_name="gridgis-hazard-icon",
        ),
        popup=folium.Popup(popup, max_width=300),
        tooltip=tooltip_text(f"{z['code']} {_kind(z, _)}"),
        pane=PANE,
    ).add_to(group)
    if z.get("outline"):
        folium.GeoJson(
            z["outline"],
            style_function=lambda _f, c=color: {"color": HAZARD_INK, "weight": 1,
                                                "fillColor": c, "fillOpacity": 0.25},
            pane=PANE,
        ).add_to(group)  # fmt: skip
    elif z["status"] != "closed" and radius:
        folium.Circle(
            where, radius=float(radius), color=HAZARD_INK, fill_color=color,
            weight=1, fill=True, fill_opacity=0.12, dash_array="4 4",
            interactive=False, pane=PANE,
        ).add_to(group)  # fmt: skip


def _add_points(
    group: folium.FeatureGroup,
    hazards: list[dict[str, Any]],
    lon: np.ndarray,
    lat: np.ndarray,
    _: Callable[[str], str],
) -> None:
    """Many hazards as one GeoJSON layer of coloured dots, not one marker each.

    A marker with its icon and popup costs ~1.5 KB of page per hazard; a large
    township's thousands of hazards would outweigh its households layer. The
    tooltip fields are escaped (``escaped_features``): Leaflet renders them as HTML.
    """
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]},
            "properties": {
                "code": z["code"],
                "kind": _kind(z, _),
                "status": _(HAZARD_LABELS.get(z["status"], z["status"])),
                "color": HAZARD_COLORS.get(z["status"], HAZARD_COLORS["closed"]),
            },
        }
        for z, x, y in zip(hazards, lon.tolist(), lat.tolist(), strict=True)
    ]
    folium.GeoJson(
        {
            "type": "FeatureCollection",
            "features": escaped_features(features, ("code", "kind", "status")),
        },
        marker=folium.CircleMarker(
            radius=4, weight=1, fill=True, fill_opacity=0.9, pane=PANE
        ),
        style_function=lambda f: {
            "color": HAZARD_INK,
            "fillColor": f["properties"]["color"],
        },
        pane=PANE,
        tooltip=folium.GeoJsonTooltip(
            fields=["code", "kind", "status"],
            aliases=[_("隐患"), _("类型"), _("状态")],
        ),
    ).add_to(group)
