"""Grid outlines and names, shared by the maps that show grids (PURE)."""

from __future__ import annotations

import html
import json
from typing import Any

import folium
import numpy as np

from maps.render.basemaps import MapOptions, shift_lonlat
from maps.render.page import _positions
from maps.render.palette import BORDER_COLORS


def border_style(depth: int, is_leaf: bool) -> dict[str, Any]:
    """Border weight/colour/dash by hierarchy depth; only leaves are filled."""
    weight = max(4.5 - 1.5 * depth, 1.0)
    color = BORDER_COLORS[min(depth, len(BORDER_COLORS) - 1)]
    style: dict[str, Any] = {"color": color, "weight": weight, "fill": is_leaf}
    if depth >= 3:
        style["dashArray"] = "4 3"
    return style


def add_labels(
    m: folium.Map, labelled: list[dict[str, Any]], options: MapOptions
) -> None:
    """Grid names (and coverage, if known) at their label points, placed by zoom.

    Each label carries its grid's bounding box and depth: the page hides a label
    wider than its grid on screen, and of two overlapping labels keeps the deeper
    grid's (``GridGIS.placeLabels``), so domains read at low zoom, leaf grids as
    one zooms in, and no two labels ever collide.
    """
    group = folium.FeatureGroup(name=options.gettext("网格名称"), show=True)
    lon = np.array([f["properties"]["label_lon"] for f in labelled], dtype=float)
    lat = np.array([f["properties"]["label_lat"] for f in labelled], dtype=float)
    lon, lat = shift_lonlat(lon, lat, options)
    for f, x, y in zip(labelled, lon, lat, strict=True):
        p = f["properties"]
        coords = np.asarray(_positions(f["geometry"]["coordinates"]), dtype=float)
        bbox = [round(float(v), 6) for v in (*coords.min(axis=0), *coords.max(axis=0))]
        share = p.get("coverage_label")
        text = html.escape(str(p["name"])) + (
            f"<br><small>{share}</small>" if share else ""
        )
        folium.Marker(
            [float(y), float(x)],
            icon=folium.DivIcon(
                html=(
                    f"<div class='gridgis-label' data-depth='{int(p.get('depth', 0))}'"
                    f" data-bbox='{json.dumps(bbox)}'>{text}</div>"
                ),
                icon_size=(0, 0),
                icon_anchor=(0, 0),
                class_name="gridgis-label-icon",
            ),
            interactive=False,
            keyboard=False,
            pane="gridgisLabels",
        ).add_to(group)
    group.add_to(m)
