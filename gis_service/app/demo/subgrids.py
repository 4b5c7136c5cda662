"""Real township sizes: a large demo's six areas split into grids of ~300 households.

网格化 rules put 200-400 households in a grid, each looked after by cadres of 12-14.
A demo of N households keeps its six areas (and the one core, two domains above
them) but splits an area holding more than ``GRID_MAX`` households into grids by
recursive median cuts on the households: counts balance to within one household,
and each cut is one straight line, so neighbouring grids share it exactly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

GRID_TARGET = 300  # households per grid
GRID_MAX = 400  # an area with more is split


def area_of(
    areas: list[Polygon], lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """Index of the area covering each point (-1: none), one STRtree query."""
    points = shapely.points(lon, lat)
    hit_point, hit_area = shapely.STRtree(areas).query(points, predicate="intersects")
    out = np.full(len(points), -1, dtype=np.int64)
    out[hit_point[::-1]] = hit_area[::-1]  # the first hit wins
    return out


def split_area(
    area: Polygon, lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
) -> list[MultiPolygon]:
    """The area's grids: one per ~GRID_TARGET of its households (itself if few)."""
    if len(lon) <= GRID_MAX:
        return [_multi(area)]
    pieces = _cut(area, lon, lat, max(2, round(len(lon) / GRID_TARGET)))
    return [_multi(p) for p in pieces if not p.is_empty and p.area > 0]


def _cut(
    shape: BaseGeometry,
    lon: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
    grids: int,
) -> list[BaseGeometry]:
    """Split ``shape`` into ``grids`` pieces with balanced household counts."""
    if grids <= 1 or len(lon) < 2:
        return [shape]
    left = grids // 2
    x0, y0, x1, y1 = shape.bounds
    across = (x1 - x0) * np.cos(np.radians((y0 + y1) / 2)) >= (y1 - y0)
    values = lon if across else lat
    at = round(float(np.quantile(values, left / grids)), 7)
    if across:
        boxes = (shapely.box(x0 - 1, y0 - 1, at, y1 + 1),
                 shapely.box(at, y0 - 1, x1 + 1, y1 + 1))  # fmt: skip
    else:
        boxes = (shapely.box(x0 - 1, y0 - 1, x1 + 1, at),
                 shapely.box(x0 - 1, at, x1 + 1, y1 + 1))  # fmt: skip
    low = values < at
    return [
        *_cut(shapely.intersection(shape, boxes[0]), lon[low], lat[low], left),
        *_cut(shapely.intersection(shape, boxes[1]), lon[~low], lat[~low],
              grids - left),
    ]  # fmt: skip


def _multi(shape: BaseGeometry) -> MultiPolygon:
    """Its polygonal parts as one MultiPolygon.

    Not rounded: a cut's end on the area's border would move off it and leave
    slivers against the village; the cut lines themselves are on 7 decimals.
    """
    parts = [
        p for p in shapely.get_parts(shape) if isinstance(p, Polygon) and p.area > 0
    ]
    return MultiPolygon(parts)
