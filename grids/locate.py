"""Which grid a point belongs to: the one rule used by assignment, preview and reports.

Rule: among the grids that *cover* the point (a point on a border or vertex is
covered by every grid touching it), take the deepest level (largest ``depth``);
among equally deep grids, the lowest grid ``code`` in code-point order (the same
order as ``ORDER BY code COLLATE "C"`` in PostgreSQL). A point covered by no grid
gets -1 and is reported as unassigned, never dropped.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

import shapely
from pyproj import Transformer

logger = logging.getLogger(__name__)

NO_GRID = -1


def code_ranks(codes: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Rank of each code in code-point order (ties impossible: codes are unique)."""
    arr = np.asarray(codes, dtype=object).astype(str)
    ranks = np.empty(len(arr), dtype=np.int64)
    ranks[np.argsort(arr, kind="stable")] = np.arange(len(arr))
    return ranks


def locate_points(
    points: npt.NDArray[np.object_],
    grid_geoms: npt.NDArray[np.object_],
    depths: npt.ArrayLike,
    codes: npt.ArrayLike,
) -> npt.NDArray[np.int64]:
    """Index into ``grid_geoms`` of each point's grid (deepest, lowest code), or -1.

    One vectorised STRtree query for all points; the tie-break is a lexsort.
    """
    out = np.full(len(points), NO_GRID, dtype=np.int64)
    if len(points) == 0 or len(grid_geoms) == 0:
        return out
    # The tree holds the points and the grids are the queries: STRtree prepares
    # each query polygon once, so every candidate point costs one prepared
    # covers() test (faster than probing a polygon tree point by point).
    tree = shapely.STRtree(points)
    grid_idx, pt_idx = tree.query(grid_geoms, predicate="covers")
    if len(pt_idx) == 0:
        return out
    depth = np.asarray(depths, dtype=np.int64)[grid_idx]
    rank = code_ranks(codes)[grid_idx]
    order = np.lexsort((rank, -depth, pt_idx))
    first_pt, first_at = np.unique(pt_idx[order], return_index=True)
    out[first_pt] = grid_idx[order][first_at]
    return out


def utm_transformer(lon: float, lat: float) -> Transformer:
    """WGS84 -> the UTM zone around (lon, lat), for distances and areas in metres."""
    zone = int((lon + 180) // 6) % 60 + 1
    epsg = (32600 if lat >= 0 else 32700) + zone
    return Transformer.from_crs(4326, epsg, always_xy=True)


def to_metres(
    transformer: Transformer, lon: npt.ArrayLike, lat: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Project lon/lat arrays to an (n, 2) array of metres."""
    x, y = transformer.transform(
        np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    )
    return np.column_stack([np.atleast_1d(x), np.atleast_1d(y)])
