"""Whether coordinates land where the township is, and if not, why.

Gauss-Krüger numbers go wrong in three common ways: the wrong zone declared
(CM 102°E numbers as EPSG:4547), the zone prefix present or missing (8-digit
eastings with a code for 6-digit ones), and X/Y read the survey way round (X is
the northing in Chinese surveying). Rather than guess one, every CGCS2000
Gauss-Krüger zone is tried both ways round on the file's middle point and the
one that lands at the township is named, with ``--crs`` to pass. The township
is where its grids are; before its grids are imported, nothing is checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.orm import Session

from pyproj import Proj

from gis_service.core.errors import InvalidInput
from layers.io.crs import CGCS2000_GK

Extent = tuple[float, float, float, float]

# Grids only: reading households here (before the import's lock) held a lock on
# the partitioned parent that a concurrent first load's ATTACH waits for.
_EXTENT = text(
    """
    SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
      SELECT ST_Extent(geom)::geometry AS e FROM grids WHERE township_code = :t
    ) x WHERE e IS NOT NULL
    """
)


@dataclass(frozen=True)
class Fit:
    """A CRS (and axis order) under which the file lands at the township."""

    epsg: int
    swapped: bool
    km: float

    @property
    def option(self) -> str:
        """The ``--crs`` to pass."""
        return f"--crs EPSG:{self.epsg}"


def township_extent(session: Session, township: str) -> Extent | None:
    """The bounding box of the township's grids, or None."""
    row = session.execute(_EXTENT, {"t": township}).first()
    return None if row is None or row[0] is None else tuple(map(float, row))  # type: ignore[return-value]


def km_from(extent: Extent, lon: float, lat: float) -> float:
    """Kilometres from (lon, lat) to the extent's box (0 inside); equirectangular."""
    x0, y0, x1, y1 = extent
    dx = max(x0 - lon, 0.0, lon - x1) * 111.32 * math.cos(math.radians(lat))
    dy = max(y0 - lat, 0.0, lat - y1) * 110.57
    return math.hypot(dx, dy)


def _zone_params(epsg: int) -> tuple[float, float]:
    """(central meridian, false easting) of a CGCS2000 Gauss-Krüger EPSG code."""
    if epsg <= 4501:  # 6° zones 13-23, eastings prefixed with the zone
        zone = epsg - 4491 + 13
        return 6 * zone - 3, zone * 1_000_000 + 500_000
    if epsg <= 4512:  # 6°, CM 75°E.. without prefix
        return 75 + 6 * (epsg - 4502), 500_000
    if epsg <= 4533:  # 3° zones 25-45, prefixed
        zone = epsg - 4513 + 25
        return 3 * zone, zone * 1_000_000 + 500_000
    return 75 + 3 * (epsg - 4534), 500_000  # 3°, CM 75°E.. without prefix


@cache
def _inverse(epsg: int) -> Proj:
    """The zone from its parameters, built in microseconds.

    An EPSG lookup in proj.db took ~0.5 s per zone on a busy machine; GRS80
    and CGCS2000 differ by under a metre, plenty to tell zones apart.
    """
    cm, x0 = _zone_params(epsg)
    return Proj(proj="tmerc", lon_0=cm, k=1, x_0=x0, y_0=0, ellps="GRS80")


def middle(bounds: NDArray[np.float64]) -> tuple[float, float] | None:
    """The median of the features' box centres (robust to a few strays)."""
    finite = bounds[np.isfinite(bounds).all(axis=1)]
    if not len(finite):
        return None
    return (
        float(np.median((finite[:, 0] + finite[:, 2]) / 2)),
        float(np.median((finite[:, 1] + finite[:, 3]) / 2)),
    )


def best_fit(x: float, y: float, extent: Extent, max_km: float) -> Fit | None:
    """The Gauss-Krüger zone and axis order that put (x, y) at the township."""
    fits = []
    for epsg in CGCS2000_GK:
        for swapped in (False, True):
            a, b = (y, x) if swapped else (x, y)
            lon, lat = _inverse(epsg)(a, b, inverse=True)
            if math.isfinite(lon) and math.isfinite(lat) and abs(lat) <= 90:
                km = km_from(extent, lon, lat)
                if km <= max_km:
                    fits.append(Fit(epsg, swapped, km))
    return min(fits, key=lambda f: (f.km, f.swapped), default=None)


def _zone(epsg: int) -> str:
    """``EPSG:4543 (CGCS2000 3° Gauss-Krüger CM 102E)``, without a proj.db lookup."""
    cm, x0 = _zone_params(epsg)
    width = 6 if epsg <= 4512 else 3
    prefix = f", zone {int(x0 // 1_000_000)} prefixed" if x0 > 500_000 else ""
    return f"EPSG:{epsg} (CGCS2000 {width}° Gauss-Krüger CM {cm:g}E{prefix})"


def refuse_unprojected(x: float, y: float, extent: Extent, max_km: float) -> None:
    """A no-CRS file of metres: name the zone the township's extent implies."""
    fit = best_fit(x, y, extent, max_km)
    if fit is None:
        return
    swap = " with X and Y swapped (X is the northing)" if fit.swapped else ""
    raise InvalidInput(
        f"the file has no coordinate system and its coordinates are metres "
        f"(x≈{x:.0f}, y≈{y:.0f}); at the township they fit {_zone(fit.epsg)}{swap}: "
        f"pass {fit.option}" + (" after swapping the X and Y columns" if swap else ""),
        errors=[{"field": "crs", "reason": f"missing; {fit.option} fits"}],
    )


def check_near(
    *,
    raw: tuple[float, float] | None,
    landed: tuple[float, float] | None,
    source_epsg: int | None,
    extent: Extent,
    max_km: float,
) -> None:
    """Refuse data that lands more than ``max_km`` from the township; say why."""
    if raw is None:
        return
    # a landing PROJ could not compute (inf) is as far as can be
    km = math.inf if landed is None else km_from(extent, *landed)
    if km <= max_km:
        return
    far = "far" if math.isinf(km) else f"{km:,.0f} km"
    where = f"lies {far} from the township's grids (over {max_km:g} km)"
    cause = "check the coordinate system; pass --force if this is intended"
    fit = best_fit(*raw, extent, max_km) if raw and source_epsg in CGCS2000_GK else None
    if fit is not None and source_epsg is not None:
        prefixed = {_prefixed(source_epsg), _prefixed(fit.epsg)}
        if fit.swapped and fit.epsg == source_epsg:
            cause = (
                "X and Y look swapped (in Chinese surveying X is the northing): "
                "swap the columns, or pass --force"
            )
        elif fit.swapped:
            cause = f"X and Y look swapped and the zone is {_zone(fit.epsg)}"
        elif len(prefixed) == 2:
            have = "have" if _prefixed(fit.epsg) else "lack"
            cause = (
                f"the zone prefix: the eastings {have} the zone number, so the CRS "
                f"is {_zone(fit.epsg)}; pass {fit.option}"
            )
        else:
            cause = (
                f"the wrong zone: the numbers fit {_zone(fit.epsg)}, not "
                f"EPSG:{source_epsg}; pass {fit.option}"
            )
    raise InvalidInput(
        f"the data {where}; likely cause: {cause}",
        errors=[{"field": "crs", "reason": f"{where}; {cause}"}],
        distance_km=None if math.isinf(km) else round(km, 1),
    )


def _prefixed(epsg: int) -> bool:
    """Whether the zone's eastings carry the zone number (8 digits)."""
    return 4491 <= epsg <= 4501 or 4513 <= epsg <= 4533
