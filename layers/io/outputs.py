"""What an export hands back, shared by layer exports and ledgers."""

from __future__ import annotations

from dataclasses import dataclass

from pyproj import CRS

from gis_service.core.errors import InvalidInput
from layers.io.crs import parse_crs


def target_crs(value: str) -> CRS:
    """An export's CRS option as a pyproj CRS; a 422 for anything unknown."""
    parsed = parse_crs(value)
    if not isinstance(parsed, CRS):
        raise InvalidInput(
            f"cannot export in {value!r}: give an EPSG code such as EPSG:4490",
            errors=[{"field": "crs", "reason": "an EPSG code"}],
        )
    return parsed


@dataclass
class Export:
    """An exported file: its bytes, media type and a download name."""

    content: bytes
    media_type: str
    filename: str
