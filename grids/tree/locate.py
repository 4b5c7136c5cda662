"""Which grid a point belongs to: the one rule used by assignment, preview and reports.

Rule: among the grids that *cover* the point (a point on a border or vertex is
covered by every grid touching it), take the deepest level (largest ``depth``);
among equally deep grids, the lowest grid ``code`` in code-point order (the same
order as ``ORDER BY code COLLATE "C"`` in PostgreSQL). A point covered by no grid
gets -1 and is reported as unassigned, never dropped.

This module is the rule's one home: ``locate_points`` in numpy, and
``grid_order_sql``/``covering_grid_sql`` in SQL, which the layer specs, the demo
loader and the ``.sql`` files (as ``{{grid_order:g}}``/``{{covering_grid:s}}``
through ``GRID_RULE``) take. Without ``COLLATE "C"`` PostgreSQL sorts codes by
the database's linguistic collation, which can disagree with numpy's order.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy.orm import Session

import shapely
from pyproj import Transformer

from gis_service.core.bulk import read_frame

logger = logging.getLogger(__name__)

NO_GRID = -1
CELLS_PER_GRID = 8  # lattice cells per grid: few grids reach each cell
MAX_CELLS = 1 << 20


def grid_order_sql(alias: str = "g") -> str:
    """ORDER BY terms of the rule: deepest first, then the lowest code in byte order."""
    return f'{alias or "g"}.depth DESC, {alias or "g"}.code COLLATE "C"'


def covering_grid_sql(alias: str = "s", *, column: str = "geom") -> str:
    """A scalar subquery: the id of the grid holding ``alias.geom`` (township :t)."""
    return (
        "(SELECT g.id FROM grids g WHERE g.township_code = :t"
        f" AND ST_Covers(g.geom, {alias or 's'}.{column})"
        f" ORDER BY {grid_order_sql('g')} LIMIT 1)"
    )


# The fragments ``.sql`` files use: {{grid_order:g}} and {{covering_grid:s}}.
GRID_RULE = {"grid_order": grid_order_sql, "covering_grid": covering_grid_sql}


def code_ranks(codes: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Rank of each code in code-point order (ties impossible: codes are unique)."""
    arr = np.asarray(codes, dtype=object).astype(str)
    ranks = np.empty(len(arr), dtype=np.int64)
    ranks[np.argsort(arr, kind="stable")] = np.arange(len(arr))
    return ranks


def locate_points(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    grid_geoms: npt.NDArray[np.object_],
    depths: npt.ArrayLike,
    codes: npt.ArrayLike,
) -> npt.NDArray[np.int64]:
    """Index into ``grid_geoms`` of each point's grid (deepest, lowest code), or -1.

    Vectorised, with no point objects (creating a million costs more than the
    search): one STRtree query pairs the cells of a lattice with the grids whose
    bounds reach them, the points are bucketed into the cells with numpy, and
    one ``intersects_xy`` on the prepared grids tests every (grid, point) pair
    (for a point, intersects is covers: a border or vertex point is covered).
    The tie-break is a lexsort.
    """
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    out = np.full(len(x), NO_GRID, dtype=np.int64)
    if len(x) == 0 or len(grid_geoms) == 0:
        return out
    grid_idx, pt_idx = _candidates(x, y, grid_geoms)
    shapely.prepare(grid_geoms)
    hit = shapely.intersects_xy(grid_geoms[grid_idx], x[pt_idx], y[pt_idx])
    grid_idx, pt_idx = grid_idx[hit], pt_idx[hit]
    # Most points lie in one grid; only the others need the tie-break.
    single = np.bincount(pt_idx, minlength=len(x))[pt_idx] == 1
    out[pt_idx[single]] = grid_idx[single]
    grid_idx, pt_idx = grid_idx[~single], pt_idx[~single]
    if len(pt_idx) == 0:
        return out
    depth = np.asarray(depths, dtype=np.int64)[grid_idx]
    rank = code_ranks(codes)[grid_idx]
    order = np.lexsort((rank, -depth, pt_idx))
    first_pt, first_at = np.unique(pt_idx[order], return_index=True)
    out[first_pt] = grid_idx[order][first_at]
    return out


def _candidates(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    grid_geoms: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(grid, point) pairs whose grid bounds reach the point's lattice cell."""
    xmin, ymin, xmax, ymax = shapely.total_bounds(grid_geoms)
    width, height = max(xmax - xmin, 1e-9), max(ymax - ymin, 1e-9)
    cells = min(CELLS_PER_GRID * len(grid_geoms), MAX_CELLS)
    nx = max(1, round(math.sqrt(cells * width / height)))
    ny = max(1, math.ceil(cells / nx))
    cw, ch = width / nx, height / ny
    # Points outside the grids' bounds are in no grid; the rest get a cell.
    inside = (x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax)
    cx = np.clip(((x - xmin) / cw).astype(np.int64), 0, nx - 1)
    cy = np.clip(((y - ymin) / ch).astype(np.int64), 0, ny - 1)
    cell = np.where(inside, cx * ny + cy, -1)
    order = np.argsort(cell, kind="stable")
    first = np.searchsorted(cell[order], np.arange(nx * ny + 1))
    # Cell boxes grown by a hair: a point the float division puts in the next
    # cell still meets every grid whose bounds end exactly on it.
    i, j = np.divmod(np.arange(nx * ny), ny)
    pad = 1e-9 * max(width, height)
    boxes = shapely.box(
        xmin + i * cw - pad, ymin + j * ch - pad,
        xmin + (i + 1) * cw + pad, ymin + (j + 1) * ch + pad,
    )  # fmt: skip
    pair_cell, pair_grid = shapely.STRtree(grid_geoms).query(boxes)
    count = first[pair_cell + 1] - first[pair_cell]
    starts = np.repeat(first[pair_cell], count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    return np.repeat(pair_grid, count), order[starts + offset]


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


_GRIDS_SQL = """
SELECT id, code, parent_id, depth, encode(ST_AsBinary(geom), 'hex') AS wkb
FROM grids WHERE township_code = %(t)s
"""


def read_grids(session: Session, *, township: str) -> pd.DataFrame:
    """Every grid of the township with its geometry (shapely) for locating points."""
    grids = read_frame(session, _GRIDS_SQL, {"t": township})
    grids["geom"] = shapely.from_wkb(grids.pop("wkb").to_numpy(dtype=object))
    return grids
