"""Coordinate systems of imported files: resolve, refuse kindly, convert to WGS84.

Accepted: EPSG:4326, CGCS2000 geographic (EPSG:4490) and the CGCS2000
Gauss-Krüger zones (EPSG:4491-4554, 6° and 3°), plus any other CRS the file
declares and PROJ can transform. GCJ-02 ("Mars" coordinates copied from AMap or
Tencent maps) has no EPSG code; it is requested explicitly with ``crs=gcj02``.

GCJ-02 accuracy: the forward WGS84 -> GCJ-02 formula below is the widely
published one (eviltransform, coordtransform); it reproduces their published
test pairs to better than 1e-9°. The inverse is solved by fixed-point iteration
to 1e-10° (well under 1 mm), so a converted point is as accurate as the forward
formula itself, which is reported to agree with the official offsets to about
0.5 m; treat GCJ-02 input as accurate to ~1 m. Outside mainland China GCJ-02 is
WGS84 and points are left unchanged.
"""

from __future__ import annotations

import logging
from typing import cast

import numpy as np
from numpy.typing import NDArray

import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from gis_service.core.errors import InvalidInput
from gis_service.core.gcj02 import gcj02_to_wgs84

logger = logging.getLogger(__name__)

GCJ02 = "gcj02"
CGCS2000_GK = range(4491, 4555)  # 6° zones 13-23 (4491-4512), 3° zones (4513-4554)
GEOGRAPHIC = (4326, 4490)

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formula.


def parse_crs(value: str | None) -> CRS | str | None:
    """Parse a ``crs`` option: ``EPSG:4513``, ``4513``, ``cgcs2000`` or ``gcj02``."""
    if value is None or not value.strip():
        return None
    text = value.strip().lower().replace("-", "").replace("_", "")
    if text in ("gcj02", "gcj", "mars", "amap"):
        return GCJ02
    if text == "cgcs2000":
        return CRS.from_epsg(4490)
    if text.isdigit():
        text = f"epsg:{text}"
    try:
        return CRS.from_user_input(text)
    except CRSError:
        raise InvalidInput(
            f"crs {value!r} is not a coordinate system GridGIS knows",
            errors=[
                {
                    "field": "crs",
                    "reason": "expected EPSG:4326, EPSG:4490, EPSG:4491-4554 or gcj02",
                }
            ],
        ) from None


def suggest_projected(x: float) -> str:
    """Guess the CGCS2000 Gauss-Krüger zone from an easting, for the error message."""
    zone = int(x // 1_000_000)
    if 25 <= zone <= 45:
        return f"EPSG:{4513 + zone - 25} (CGCS2000 3° Gauss-Krüger zone {zone})"
    if 13 <= zone <= 23:
        return f"EPSG:{4491 + zone - 13} (CGCS2000 6° Gauss-Krüger zone {zone})"
    return (
        "the EPSG code of its CGCS2000 Gauss-Krüger zone: EPSG:4534-4554 for 3° zones "
        "without a zone prefix (central meridian 75°E + 3° per code, e.g. EPSG:4543 "
        "for 102°E)"
    )


def looks_projected(bounds: NDArray[np.float64]) -> bool:
    """Whether coordinates cannot be degrees (|x| > 180 or |y| > 90)."""
    finite = bounds[np.isfinite(bounds).all(axis=1)]
    if finite.size == 0:
        return False
    return bool((np.abs(finite[:, [0, 2]]) > 180).any()) or bool(
        (np.abs(finite[:, [1, 3]]) > 90).any()
    )


def resolve_crs(
    file_crs: CRS | None, option: CRS | str | None, bounds: NDArray[np.float64]
) -> tuple[CRS | str, list[str]]:
    """The CRS the coordinates are in; refuses guesses that could misplace data."""
    warnings: list[str] = []
    if isinstance(option, str):  # GCJ02
        if file_crs is not None and file_crs.to_epsg() not in GEOGRAPHIC:
            raise InvalidInput(
                f"crs=gcj02 was given but the file declares {file_crs.name}",
                errors=[{"field": "crs", "reason": "gcj02 needs lon/lat coordinates"}],
            )
        return GCJ02, warnings
    if option is not None and file_crs is not None and not _same(option, file_crs):
        raise InvalidInput(
            f"the file declares {file_crs.name} but crs={_label(option)} was given; "
            "omit crs to use the file's",
            errors=[{"field": "crs", "reason": "contradicts the file's CRS"}],
        )
    chosen = option or file_crs
    if chosen is None:
        if looks_projected(bounds):
            x = float(np.nanmedian(bounds[:, 0]))
            y = float(np.nanmedian(bounds[:, 1]))
            guess = suggest_projected(x)
            option = (
                f"pass --crs {guess.split()[0]} if that is its zone: {guess}"
                if guess.startswith("EPSG:")
                else f"pass --crs with {guess}"
            )
            raise InvalidInput(
                f"the file has no coordinate system and its coordinates look projected "
                f"(x≈{x:.0f}, y≈{y:.0f}); {option}",
                errors=[{"field": "crs", "reason": "missing; coordinates are metres"}],
            )
        warnings.append("the file has no coordinate system; assumed EPSG:4326 (WGS84)")
        return CRS.from_epsg(4326), warnings
    assert isinstance(chosen, CRS)
    if chosen.to_epsg() not in (*GEOGRAPHIC, *CGCS2000_GK):
        warnings.append(f"coordinates converted from {chosen.name}")
    return chosen, warnings


def _same(a: CRS | str, b: CRS) -> bool:
    return isinstance(a, CRS) and (a == b or (a.to_epsg() or -1) == b.to_epsg())


def _label(crs: CRS | str) -> str:
    if isinstance(crs, CRS):
        epsg = crs.to_epsg()
        return f"EPSG:{epsg}" if epsg else crs.name
    return crs


def to_wgs84(geoms: NDArray[np.object_], source: CRS | str) -> NDArray[np.object_]:
    """Transform an array of shapely geometries from ``source`` to EPSG:4326."""
    if isinstance(source, str):  # GCJ02; CRS == str would parse the string
        return cast(NDArray[np.object_], shapely.transform(geoms, _gcj_coords))
    assert isinstance(source, CRS)
    if source.to_epsg() == 4326:
        return geoms
    from pyproj import Transformer

    transformer = Transformer.from_crs(source, 4326, always_xy=True)

    def project(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return cast(NDArray[np.object_], shapely.transform(geoms, project))


def _gcj_coords(coords: NDArray[np.float64]) -> NDArray[np.float64]:
    lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])
