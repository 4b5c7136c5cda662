"""PLACEHOLDER route order for the route map until grids/visit_routes.py lands.

Nearest-neighbour over straight lines from the cadre's base, walking speed only.
The lead replaces ``plan_placeholder_route`` with the real route planner (road
network, OR-Tools/LKH); the map takes any ``RouteData``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from maps.render_route import RouteData

logger = logging.getLogger(__name__)

WALK_SPEED_M_S = 4000 / 3600  # 4 km/h
EARTH_RADIUS_M = 6_371_008.8
PLACEHOLDER_NOTE = "占位路线: 最近邻顺序, 直线距离, 步行 4 km/h (待接入路线规划)"


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> np.ndarray:
    """Great-circle distance in metres, vectorised."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(v, float)) for v in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a)))


def nearest_neighbour_order(
    start: tuple[float, float] | None, lon: np.ndarray, lat: np.ndarray
) -> list[int]:
    """Visit order: always the nearest unvisited point (from start, else point 0)."""
    n = len(lon)
    if n == 0:
        return []
    left = np.ones(n, dtype=bool)
    if start is None:
        order = [0]
        left[0] = False
        here = (lon[0], lat[0])
    else:
        order, here = [], start
    while left.any():
        d = haversine_m(here[0], here[1], lon, lat)
        d[~left] = np.inf
        nxt = int(np.argmin(d))
        order.append(nxt)
        left[nxt] = False
        here = (lon[nxt], lat[nxt])
    return order


def plan_placeholder_route(
    cadre: dict[str, Any], households: list[dict[str, Any]]
) -> RouteData:
    """A RouteData over the cadre's households, nearest-neighbour from their base."""
    lon = np.array([h["lon"] for h in households], dtype=float)
    lat = np.array([h["lat"] for h in households], dtype=float)
    start = None
    if cadre.get("lon") is not None:
        start = (float(cadre["lon"]), float(cadre["lat"]))
    order = nearest_neighbour_order(start, lon, lat)
    path = ([list(start)] if start else []) + [[lon[i], lat[i]] for i in order]
    coords = np.asarray(path, dtype=float).reshape(-1, 2)
    length = (
        float(
            haversine_m(
                coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1]
            ).sum()
        )
        if len(coords) > 1
        else 0.0
    )
    stops = [
        {
            "seq": seq,
            "lon": float(lon[i]),
            "lat": float(lat[i]),
            "label": households[i].get("label", ""),
            "detail": households[i].get("detail", {}),
        }
        for seq, i in enumerate(order, start=1)
    ]
    return RouteData(
        cadre={"code": cadre.get("code"), "name": cadre.get("name")},
        stops=stops,
        path=coords.tolist(),
        length_m=length,
        duration_s=length / WALK_SPEED_M_S,
        start=None
        if start is None
        else {"lon": start[0], "lat": start[1], "label": "驻地"},
        note=PLACEHOLDER_NOTE,
    )
