"""Distances between route points: great-circle, or along the township's roads.

The road graph is built from the roads layer around the points: PostGIS nodes the
lines (``ST_Node``, so crossing roads meet) and dumps them into segments measured on
the geography; each point is snapped to its nearest segment (shapely STRtree in an
azimuthal-equidistant projection centred on the points) and joined to that
segment's ends, so distances follow the network exactly. A point farther than
``max_snap_m`` from any road, or in a part of the network the others cannot reach,
gets straight-line legs at walking speed, flagged, instead of failing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from sqlalchemy import text
from sqlalchemy.orm import Session

import shapely
from pyproj import Transformer

from grids.routing.geodesy import MATRIX_MAX, geodesic_matrix, line_length
from grids.routing.tsp import great_circle_matrix

logger = logging.getLogger(__name__)

MARGIN_DEG = 0.03  # roads this far (≈3 km) around the points may carry the route
EPS_M = 1e-6  # keeps zero-length edges as edges in the sparse graph

_NODED_SEGMENTS = text(
    """
    WITH net AS (
        SELECT ST_Node(ST_Collect(part.geom)) AS geom
        FROM roads r, ST_Dump(r.geom) part
        WHERE r.township_code = :t
          AND r.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)
    )
    SELECT ST_X(ST_StartPoint(d.geom)) AS ax, ST_Y(ST_StartPoint(d.geom)) AS ay,
           ST_X(ST_EndPoint(d.geom)) AS bx, ST_Y(ST_EndPoint(d.geom)) AS by,
           ST_Length(d.geom::geography) AS length_m
    FROM net, ST_DumpSegments(net.geom) d
    WHERE net.geom IS NOT NULL
    """
)


@dataclass
class Metric:
    """Leg lengths (m) between route points, how each leg goes, and its geometry."""

    kind: str  # great_circle | road_network
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    dist: NDArray[np.float64]
    straight: NDArray[np.bool_]  # legs walked in a straight line (road mode)
    offroad: NDArray[np.bool_]  # points farther than max_snap_m from a road
    path: Callable[[int, int], list[tuple[float, float]]] | None = None

    def mode(self, i: int, j: int) -> str:
        """great_circle, road or straight_walk."""
        if self.kind == "great_circle":
            return "great_circle"
        return "straight_walk" if self.straight[i, j] else "road"

    def leg_m(self, i: int, j: int) -> float:
        """The leg's reported length: its drawn path measured on the WGS84 ellipsoid."""
        return line_length(self.coords(i, j))

    def seconds(
        self, i: int, j: int, length_m: float, *, speed_kmh: float, walk_kmh: float
    ) -> float:
        """Travel time of a leg: walking speed for straight legs of a road network."""
        kmh = walk_kmh if self.mode(i, j) == "straight_walk" else speed_kmh
        return length_m / (kmh / 3.6)

    def coords(self, i: int, j: int) -> list[tuple[float, float]]:
        """The leg's vertices from point i to point j."""
        if self.path is not None and not self.straight[i, j]:
            return self.path(i, j)
        return [
            (float(self.lon[i]), float(self.lat[i])),
            (float(self.lon[j]), float(self.lat[j])),
        ]


def crow_matrix(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Straight-line distances to optimise on: geodesic when cheap, else the sphere."""
    if len(lon) <= MATRIX_MAX:
        return geodesic_matrix(lon, lat)
    return great_circle_matrix(lon, lat)


def great_circle_metric(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> Metric:
    """Straight (geodesic) legs between every pair of points."""
    n = len(lon)
    return Metric(
        "great_circle", lon, lat, crow_matrix(lon, lat),
        np.zeros((n, n), dtype=bool), np.zeros(n, dtype=bool),
    )  # fmt: skip


def _segments(
    session: Session,
    *,
    township: str,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
) -> NDArray[np.float64] | None:
    """The noded road segments around the points (ax, ay, bx, by, m); None if none."""
    rows = session.execute(
        _NODED_SEGMENTS,
        {"t": township, "x0": float(lon.min()) - MARGIN_DEG,
         "y0": float(lat.min()) - MARGIN_DEG, "x1": float(lon.max()) + MARGIN_DEG,
         "y1": float(lat.max()) + MARGIN_DEG},
    ).all()  # fmt: skip
    if not rows:
        return None
    return np.array([tuple(r) for r in rows], dtype=float)


def road_metric(
    session: Session,
    *,
    township: str,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    max_snap_m: float,
) -> Metric | None:
    """Distances along the roads around the points; None when there are no roads."""
    seg = _segments(session, township=township, lon=lon, lat=lat)
    if seg is None:
        return None
    return _network_metric(lon, lat, seg, max_snap_m)


@dataclass
class _Snapped:
    """The road graph with each point joined to it as a virtual node."""

    graph: Any  # scipy.sparse CSR, (road nodes + points) square
    virtual: NDArray[np.int64]  # each point's node
    access: NDArray[np.float64]  # each point's distance to its road (m)
    offroad: NDArray[np.bool_]  # farther than max_snap_m from any road
    xy: NDArray[np.float64]  # every node's (lon, lat)


def _snap(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    seg: NDArray[np.float64],
    max_snap_m: float,
) -> _Snapped:
    """Build the graph: segments, plus each point snapped to its nearest segment."""
    n = len(lon)
    ends = np.vstack([seg[:, 0:2], seg[:, 2:4]])
    node_xy, inverse = np.unique(np.round(ends, 7), axis=0, return_inverse=True)
    a_node, b_node = inverse[: len(seg)], inverse[len(seg) :]
    proj = Transformer.from_crs(
        "EPSG:4326",
        f"+proj=aeqd +lat_0={lat.mean()} +lon_0={lon.mean()} +units=m",
        always_xy=True,
    )
    ax, ay = proj.transform(seg[:, 0], seg[:, 1])
    bx, by = proj.transform(seg[:, 2], seg[:, 3])
    px, py = proj.transform(lon, lat)
    lines = shapely.linestrings(np.stack([np.c_[ax, ay], np.c_[bx, by]], axis=1))
    points = shapely.points(px, py)
    nearest, access = shapely.STRtree(lines).query_nearest(
        points, return_distance=True, all_matches=False
    )
    which = nearest[1][np.argsort(nearest[0])]
    access = access[np.argsort(nearest[0])]
    frac = shapely.line_locate_point(lines[which], points, normalized=True)

    virtual = len(node_xy) + np.arange(n)
    length = seg[:, 4]
    u = [a_node, virtual, virtual]
    v = [b_node, a_node[which], b_node[which]]
    w = [length, frac * length[which], (1 - frac) * length[which]]
    for s in np.unique(which):  # points on one segment also reach each other directly
        on = np.flatnonzero(which == s)
        if len(on) > 1:
            i, j = np.triu_indices(len(on), 1)
            u.append(virtual[on[i]])
            v.append(virtual[on[j]])
            w.append(np.abs(frac[on[i]] - frac[on[j]]) * length[s])
    graph = _undirected(
        np.concatenate(u), np.concatenate(v), np.concatenate(w), len(node_xy) + n
    )
    snap_lon = seg[which, 0] + frac * (seg[which, 2] - seg[which, 0])
    snap_lat = seg[which, 1] + frac * (seg[which, 3] - seg[which, 1])
    xy = np.vstack([node_xy, np.c_[snap_lon, snap_lat]])
    return _Snapped(graph, virtual, access, access > max_snap_m, xy)


def _network_metric(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    seg: NDArray[np.float64],
    max_snap_m: float,
) -> Metric:
    """Build the graph (segments + snapped points) and run Dijkstra from each point."""
    g = _snap(lon, lat, seg, max_snap_m)
    virtual, access, offroad = g.virtual, g.access, g.offroad
    net, pred = dijkstra(
        g.graph, directed=False, indices=virtual, return_predecessors=True
    )
    road = net[:, virtual] + access[:, None] + access[None, :]
    straight = offroad[:, None] | offroad[None, :] | ~np.isfinite(road)
    np.fill_diagonal(straight, False)
    crow = crow_matrix(lon, lat)
    dist = np.where(straight, crow, road)
    np.fill_diagonal(dist, 0.0)
    return Metric(
        "road_network", lon, lat, dist, straight, offroad,
        _path_builder(lon, lat, pred, virtual, g.xy),
    )  # fmt: skip


@dataclass
class RoadLegs:
    """Road distances from origins to targets, and each such leg's vertices."""

    dist: NDArray[np.float64]  # (origins, targets) m; inf: off-road or unreachable
    path: Callable[[int, int], list[tuple[float, float]]]


def road_legs(
    session: Session,
    *,
    township: str,
    origins: NDArray[np.float64],
    targets: NDArray[np.float64],
    max_snap_m: float,
) -> RoadLegs | None:
    """Along the roads from each origin to each (few) target, (lon, lat) rows.

    Dijkstra runs from the targets only, so many origins (a warn list's
    households) to a few targets (shelters) stay cheap. None when no roads.
    """
    n = len(origins)
    both = np.vstack([origins, targets])
    seg = _segments(session, township=township, lon=both[:, 0], lat=both[:, 1])
    if seg is None:
        return None
    g = _snap(both[:, 0], both[:, 1], seg, max_snap_m)
    net, pred = dijkstra(
        g.graph, directed=False, indices=g.virtual[n:], return_predecessors=True
    )
    dist = net[:, g.virtual[:n]].T + g.access[:n, None] + g.access[None, n:]
    dist[g.offroad[:n, None] | g.offroad[None, n:]] = np.inf

    def path(i: int, j: int) -> list[tuple[float, float]]:
        chain, node, goal = [], int(g.virtual[i]), int(g.virtual[n + j])
        while node >= 0 and node != goal:
            chain.append(node)
            node = int(pred[j, node])
        chain.append(goal)
        via = [(float(x), float(y)) for x, y in g.xy[chain]]
        start, end = both[i], both[n + j]
        return [
            (float(start[0]), float(start[1])),
            *via,
            (float(end[0]), float(end[1])),
        ]

    return RoadLegs(dist, path)


def _undirected(
    u: NDArray[np.int64], v: NDArray[np.int64], w: NDArray[np.float64], size: int
) -> coo_matrix:
    """A sparse graph keeping the shortest of parallel edges (COO would sum them)."""
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    keep = lo != hi
    lo, hi, w = lo[keep], hi[keep], w[keep] + EPS_M
    order = np.lexsort((w, hi, lo))
    lo, hi, w = lo[order], hi[order], w[order]
    first = np.r_[True, (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])]
    return coo_matrix((w[first], (lo[first], hi[first])), shape=(size, size)).tocsr()


def _path_builder(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    pred: NDArray[np.int32],
    virtual: NDArray[np.int64],
    xy: NDArray[np.float64],
) -> Callable[[int, int], list[tuple[float, float]]]:
    """Leg geometries rebuilt on demand from Dijkstra's predecessor matrix."""

    def path(i: int, j: int) -> list[tuple[float, float]]:
        chain = []
        node = int(virtual[j])
        while node >= 0 and node != virtual[i]:
            chain.append(node)
            node = int(pred[i, node])
        chain.append(int(virtual[i]))
        via = [(float(x), float(y)) for x, y in xy[chain[::-1]]]
        return [(float(lon[i]), float(lat[i])), *via, (float(lon[j]), float(lat[j]))]

    return path
