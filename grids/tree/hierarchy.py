"""Grid tree checks in metres: sibling overlaps, children outside, gaps and slivers.

Pure shapely on a projected copy (UTM around the township), because GEOS's
``coverage_invalid_edges`` (shapely >= 2.1) has no PostGIS 3.3 counterpart. A
fault never blocks loading: importers call ``check_grids`` and pass the faults on
as warnings; the endpoint and CLI show the same list.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from gis_service.core.geojson import feature
from gis_service.core.townships import require_township
from grids.tree.locate import read_grids, utm_transformer

logger = logging.getLogger(__name__)

MIN_AREA_M2 = 1.0  # smaller overlaps/gaps are rounding noise of shared edges
NOISE_WIDTH_M = 0.02  # ... and so are parts thinner than this
# Edges are densified before projecting so that a child's vertex lying on its
# parent's straight lon/lat edge still lies on it in metres (~1 mm).
SEGMENT_DEG = 0.0005
FAULT_KINDS = (
    "sibling_overlap",
    "sliver_overlap",
    "outside_parent",
    "uncovered",
    "near_gap",
    "invalid_edge",
)


@dataclass(frozen=True)
class Fault:
    """One fault with its geometry in metres (projected)."""

    kind: str
    grids: tuple[str, ...]
    geom: BaseGeometry
    area_m2: float
    length_m: float


def _project(geoms: np.ndarray, transformer: Transformer) -> np.ndarray:
    def move(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(geoms, move))


def _parts(geom: BaseGeometry) -> list[BaseGeometry]:
    """Polygonal parts of an overlay result (drops lines and points)."""
    parts = shapely.get_parts(geom)
    return [
        p
        for p in parts
        if p.geom_type == "Polygon"
        and p.area >= MIN_AREA_M2
        and not _narrow(p, NOISE_WIDTH_M)
    ]


def _narrow(part: BaseGeometry, width: float) -> bool:
    """Narrower than ``width`` everywhere: an inward buffer of width/2 erases it."""
    return bool(part.buffer(-width / 2).is_empty)


def _group_faults(
    codes: list[str],
    geoms: list[BaseGeometry],
    plain: list[BaseGeometry],
    width: float,
) -> list[Fault]:
    """Overlaps (densified outlines) and invalid coverage edges (as drawn)."""
    faults = []
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i >= j:
            continue
        for part in _parts(shapely.intersection(geoms[i], geoms[j])):
            kind = "sliver_overlap" if _narrow(part, width) else "sibling_overlap"
            faults.append(Fault(kind, (codes[i], codes[j]), part, part.area, 0.0))
    if len(geoms) > 1:
        edges = shapely.coverage_invalid_edges(np.array(plain), gap_width=width)
        for code, edge in zip(codes, edges, strict=True):
            if edge is not None and not edge.is_empty:
                faults.append(Fault("invalid_edge", (code,), edge, 0.0, edge.length))
    return faults


def _child_faults(
    parent: str,
    pgeom: BaseGeometry,
    codes: list[str],
    geoms: list[BaseGeometry],
    width: float,
) -> list[Fault]:
    """Children sticking out of their parent and parent area no child covers."""
    faults = []
    for code, geom in zip(codes, geoms, strict=True):
        for part in _parts(shapely.difference(geom, pgeom)):
            faults.append(Fault("outside_parent", (code, parent), part, part.area, 0.0))
    for part in _parts(shapely.difference(pgeom, shapely.union_all(geoms))):
        kind = "near_gap" if _narrow(part, width) else "uncovered"
        faults.append(Fault(kind, (parent,), part, part.area, 0.0))
    return faults


def check_grids(grids: pd.DataFrame, *, min_width_m: float = 5.0) -> list[Fault]:
    """All faults of a grid tree (columns id, code, parent_id, geom in EPSG:4326)."""
    if grids.empty:
        return []
    c = shapely.centroid(shapely.union_all(grids["geom"].to_numpy()))
    to_utm = utm_transformer(c.x, c.y)
    geoms = grids["geom"].to_numpy()
    # Coverage edges are compared vertex by vertex, so they get the outlines as
    # drawn (densifying a shared edge from both ends would make them differ).
    frame = grids.assign(
        m=_project(shapely.segmentize(geoms, SEGMENT_DEG), to_utm),
        plain=_project(geoms, to_utm),
        parent=grids["parent_id"].fillna(-1).astype(int),
    )
    by_id = frame.set_index("id")
    faults: list[Fault] = []
    for parent_id, group in frame.groupby("parent", sort=True):
        codes, geoms = group["code"].tolist(), group["m"].tolist()
        faults += _group_faults(codes, geoms, group["plain"].tolist(), min_width_m)
        if parent_id in by_id.index:
            p = by_id.loc[parent_id]
            faults += _child_faults(p["code"], p["m"], codes, geoms, min_width_m)
    return faults


def faults_collection(
    faults: list[Fault], grids: pd.DataFrame, **members: Any
) -> dict[str, Any]:
    """Faults as GeoJSON (EPSG:4326) with their kind, grids, area and length."""
    if not faults:
        return {"type": "FeatureCollection", "features": [], **members}
    c = shapely.centroid(shapely.union_all(grids["geom"].to_numpy()))
    back = Transformer.from_crs(
        utm_transformer(c.x, c.y).target_crs, 4326, always_xy=True
    )
    geoms = _project(np.array([f.geom for f in faults]), back)
    features = [
        feature(
            {
                "kind": f.kind,
                "grids": list(f.grids),
                "area_m2": round(f.area_m2, 1),
                "length_m": round(f.length_m, 1),
            },
            json.loads(shapely.to_geojson(shapely.set_precision(g, 1e-7))),
        )
        for f, g in zip(faults, geoms, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features, **members}


def hierarchy_report(
    session: Session, *, township: str, min_width_m: float = 5.0
) -> dict[str, Any]:
    """The township's grid faults with counts per kind."""
    require_township(session, township=township)
    grids = read_grids(session, township=township)
    faults = check_grids(grids, min_width_m=min_width_m)
    counts = Counter(f.kind for f in faults)
    return faults_collection(
        faults,
        grids,
        township=township,
        min_width_m=min_width_m,
        grids_checked=len(grids),
        counts={k: counts.get(k, 0) for k in FAULT_KINDS},
    )


def hierarchy_warnings(
    session: Session, *, township: str, min_width_m: float = 5.0
) -> list[str]:
    """One readable line per fault, for an import that loads grids with faults.

    Loading still succeeds (a township's first outlines are rarely clean); the
    report at GET /grids/checks has the geometries.
    """
    faults = check_grids(
        read_grids(session, township=township), min_width_m=min_width_m
    )
    return [
        f"grid hierarchy: {f.kind.replace('_', ' ')} ({', '.join(f.grids)}): "
        f"{f.area_m2:.0f} m², {f.length_m:.0f} m"
        for f in faults
    ]
