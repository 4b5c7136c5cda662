"""Geometry checks of read features: type, coordinates, CRS, China's extent.

Vectorised over the whole column (shapely 2); a bad geometry is reported per
feature and set to None so later checks skip it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

import shapely
from pyproj import CRS

from layers.io.coercion import Report
from layers.io.crs import looks_projected, parse_crs, resolve_crs, to_wgs84
from layers.io.crs_sanity import (
    Extent,
    check_near,
    middle,
    refuse_unprojected,
)
from layers.io.reading import NONE, ReadResult
from layers.io.specs import LayerSpec


@dataclass(frozen=True)
class Place:
    """Where the township is, how far data may lie from it, and whether to check."""

    extent: Extent
    max_km: float = 50.0
    force: bool = False


# Mainland China, Hainan and the South China Sea islands, generously.
CHINA = (73.4, 3.5, 135.1, 53.6)
PRECISION = 7  # decimal places kept (~1 cm); exports render the same digits
ACCEPTED_TYPES = {
    "Point": ("Point", "MultiPoint"),
    "MultiPolygon": ("Polygon", "MultiPolygon"),
    "MultiLineString": ("LineString", "MultiLineString"),
    "PointOrPolygon": ("Point", "MultiPoint", "Polygon", "MultiPolygon"),
}
POLYGONAL = ("MultiPolygon", "PointOrPolygon")


def geometries(
    read: ReadResult,
    spec: LayerSpec,
    report: Report,
    crs: str | None,
    place: Place | None = None,
) -> tuple[NDArray[np.object_], list[str], str]:
    """Check, convert to EPSG:4326, promote to the layer's type, round to 1e-7°."""
    geoms = np.asarray(read.frame.geometry.values, dtype=object).copy()
    n = len(geoms)
    warnings: list[str] = []
    missing = pd.isna(geoms)
    empty = ~missing & shapely.is_empty(np.where(missing, NONE, geoms))
    if spec.geometry_required and read.has_geometry:
        reasons = read.missing_coordinates
        if reasons is not None:
            report.add(missing, "geometry", [r or "missing geometry" for r in reasons])
        else:
            report.add(missing, "geometry", "missing geometry")
        report.add(empty, "geometry", "empty geometry")
    elif read.missing_coordinates is not None:
        unreadable = np.isin(
            read.missing_coordinates, ("lon/lat is not a number", "unreadable WKT")
        )
        report.add(unreadable, "geometry", read.missing_coordinates)
    geoms[missing | empty] = None
    present = ~(missing | empty)
    kinds = shapely.get_type_id(geoms)
    names = np.array(
        [
            "Point",
            "LineString",
            "LinearRing",
            "Polygon",
            "MultiPoint",
            "MultiLineString",
            "MultiPolygon",
            "GeometryCollection",
        ],
        dtype=object,
    )
    type_names = np.where(kinds >= 0, names[np.clip(kinds, 0, 7)], NONE)
    accepted = ACCEPTED_TYPES[spec.geometry_kind]
    wrong = present & ~np.isin(type_names, accepted)
    multi_point = present & (type_names == "MultiPoint")
    wrong |= multi_point & (shapely.get_num_geometries(geoms) != 1)
    report.add(
        wrong,
        "geometry",
        lambda i: f"expected {' or '.join(accepted)}, got {type_names[i]}",
    )
    zm = present & (shapely.has_z(geoms) | shapely.has_m(geoms))
    if zm.any():
        warnings.append(f"{int(zm.sum())} features had Z/M values; they were dropped")
        geoms[zm] = shapely.force_2d(geoms[zm])
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad_coord = np.zeros(n, bool)
    np.logical_or.at(bad_coord, index, ~np.isfinite(coords).all(axis=1))
    report.add(present & bad_coord, "geometry", "coordinates are NaN or infinite")
    good = present & ~wrong & ~bad_coord
    geoms[~good] = None
    file_crs, option = read.crs, parse_crs(crs)
    raw_bounds = shapely.bounds(geoms[good])
    raw = middle(raw_bounds)
    undeclared = file_crs is None and option is None
    if place and raw and undeclared and looks_projected(raw_bounds):
        refuse_unprojected(*raw, place.extent, place.max_km)
    source, crs_warnings = resolve_crs(file_crs, option, raw_bounds)
    warnings += crs_warnings
    geoms[good] = to_wgs84(geoms[good], source)
    if place is not None and not place.force:
        epsg = source.to_epsg() if isinstance(source, CRS) else None
        landed = middle(shapely.bounds(geoms[good]))
        # lon/lat outside China: the per-feature check says why (e.g. swapped)
        outside = epsg in (4326, 4490, None) and not _in_china(landed)
        if not outside:
            check_near(raw=raw, landed=landed, source_epsg=epsg,
                       extent=place.extent, max_km=place.max_km)  # fmt: skip
    _check_extent(geoms, good, report)
    geoms[multi_point] = shapely.get_geometry(geoms[multi_point], 0)
    geoms = _promote(geoms, spec.geometry_kind)
    if spec.geometry_kind in POLYGONAL:  # RFC 7946 winding, whatever the source
        geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    coords = shapely.get_coordinates(geoms)
    if not np.array_equal(coords, np.round(coords, PRECISION)):
        geoms = shapely.transform(geoms, lambda c: np.round(c, PRECISION))
    label = source if isinstance(source, str) else _crs_label(source)
    return geoms, warnings, label


def _in_china(point: tuple[float, float] | None) -> bool:
    x0, y0, x1, y1 = CHINA
    return point is not None and x0 <= point[0] <= x1 and y0 <= point[1] <= y1


def _crs_label(crs: Any) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else str(crs.name)


def _check_extent(
    geoms: NDArray[np.object_], good: NDArray[np.bool_], report: Report
) -> None:
    """Coordinates must fall in China; say so when lon/lat look swapped."""
    bounds = shapely.bounds(geoms)
    x0, y0, x1, y1 = CHINA
    with np.errstate(invalid="ignore"):
        inside = (bounds[:, 0] >= x0) & (bounds[:, 2] <= x1)
        inside &= (bounds[:, 1] >= y0) & (bounds[:, 3] <= y1)
        swapped = (bounds[:, 1] >= x0) & (bounds[:, 3] <= x1)
        swapped &= (bounds[:, 0] >= y0) & (bounds[:, 2] <= y1)
    outside = good & ~inside

    def reason(i: int) -> str:
        b = bounds[i]
        if swapped[i]:
            return (
                f"longitude/latitude look swapped: got ({b[0]:.6f}, {b[1]:.6f}); "
                f"expected longitude first, e.g. ({b[1]:.6f}, {b[0]:.6f})"
            )
        return (
            f"outside China's extent (lon {x0}..{x1}, lat {y0}..{y1}): "
            f"bounds ({b[0]:.6f}, {b[1]:.6f}, {b[2]:.6f}, {b[3]:.6f})"
        )

    report.add(outside, "geometry", reason)
    geoms[outside] = None


def _promote(geoms: NDArray[np.object_], kind: str) -> NDArray[np.object_]:
    """Polygon -> MultiPolygon and LineString -> MultiLineString, vectorised."""
    single = {"MultiPolygon": 3, "PointOrPolygon": 3, "MultiLineString": 1}.get(kind)
    if single is None:
        return geoms
    mask = shapely.get_type_id(geoms) == single
    if mask.any():
        make = shapely.multipolygons if single == 3 else shapely.multilinestrings
        geoms[mask] = make(geoms[mask], indices=np.arange(int(mask.sum())))
    return geoms
