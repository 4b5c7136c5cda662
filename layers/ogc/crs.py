"""The CRSs served (OGC API – Features Part 2): URIs, SRIDs and axis order.

Storage is lon/lat WGS 84 (``CRS84``). EPSG:4326, EPSG:4490 and the CGCS2000
Gauss–Krüger zones (EPSG:4491–4554) all list northing/latitude first, so their
coordinates are flipped on output and their ``bbox`` values read lat/lon first,
as Part 2 requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import func

from pyproj import CRS

from gis_service.core.errors import BadRequest

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"
STORAGE_SRID = 4326
# WGS 84, CGCS2000 geographic, then its 6° and 3° Gauss–Krüger zones and CMs.
SERVED_EPSG = (4326, 4490, *range(4491, 4555))


@dataclass(frozen=True)
class ServedCrs:
    """A CRS a client may ask for: its URI, PostGIS SRID and axis order."""

    uri: str
    srid: int
    northing_first: bool
    geographic: bool

    @property
    def digits(self) -> int:
        """Decimals in GeoJSON output: ~1 cm in degrees or in metres."""
        return 7 if self.geographic else 2


@cache
def _epsg(code: int) -> ServedCrs:
    crs = CRS.from_epsg(code)
    first = crs.axis_info[0].direction.lower() if crs.axis_info else "east"
    return ServedCrs(
        EPSG_URI + str(code), code, first in ("north", "south"), crs.is_geographic
    )


DEFAULT = ServedCrs(CRS84, STORAGE_SRID, northing_first=False, geographic=True)


def crs_list() -> list[str]:
    """Every CRS URI the collections can be served in."""
    return [CRS84, *(EPSG_URI + str(c) for c in SERVED_EPSG)]


def parse_crs(value: str | None, *, field: str) -> ServedCrs:
    """A ``crs``/``bbox-crs`` value (URI, ``EPSG:n`` or ``[EPSG:n]``) or 400."""
    if value is None:
        return DEFAULT
    text = value.strip().strip("[]")
    if text in (CRS84, "CRS84", "OGC:CRS84"):
        return DEFAULT
    code: int | None = None
    for prefix in (EPSG_URI, "EPSG:", "epsg:", "http://www.opengis.net/def/crs/EPSG/"):
        if text.startswith(prefix):
            tail = text[len(prefix) :].rsplit("/", 1)[-1]
            code = int(tail) if tail.isdigit() else None
            break
    if code is None or code not in SERVED_EPSG:
        raise BadRequest(
            f"{field} {value!r} is not a served CRS; use one of the collection's "
            "crs list (CRS84, EPSG:4326, EPSG:4490, EPSG:4491-4554)",
            errors=[{"field": field, "reason": "unsupported CRS"}],
        )
    return _epsg(code)


def to_storage(geometry: Any, crs: ServedCrs, *, axes_as_given: bool = False) -> Any:
    """A geometry expression in ``crs`` as the storage CRS (CRS84), for a filter.

    The literal is transformed, never the column, so the GIST index is used.
    ``axes_as_given``: its coordinates are in ``crs``'s own axis order (a CQL2
    literal: lat/lon for EPSG:4326/4490, northing/easting for the Gauss–Krüger
    zones), so they are flipped into PostGIS's easting-first order first; a bbox
    parsed by ``params`` is already easting first.
    """
    if crs.srid == STORAGE_SRID and not crs.northing_first:
        return geometry
    if axes_as_given and crs.northing_first:
        geometry = func.ST_FlipCoordinates(geometry)
    if crs.srid != STORAGE_SRID:
        geometry = func.ST_Transform(geometry, STORAGE_SRID)
    return geometry
