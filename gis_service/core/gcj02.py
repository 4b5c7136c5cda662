"""WGS84 -> GCJ-02 ("Mars coordinates"), so overlays line up on AMap/Gaode tiles.

GCJ-02 is the obfuscated datum Chinese web maps must use; AMap's tiles are drawn
in it, so WGS84 data appears 100-700 m off unless shifted the same way. This is
the published forward formula (Krasovsky 1940 ellipsoid constants), vectorised.
Outside China's rough bounding box GCJ-02 equals WGS84. The inverse (coordinates
copied from AMap/Tencent, for imports) has no closed form; fixed-point iteration on
the forward formula recovers it to 1e-9 degrees. The formula itself is within about
1 m of the official offsets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_A = 6378245.0  # Krasovsky 1940 semi-major axis
_EE = 0.00669342162296594323  # its first eccentricity squared


def _delta_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    pi = np.pi
    out = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y
    out += 0.2 * np.sqrt(np.abs(x))
    out += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    out += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    out += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    return np.asarray(out)


def _delta_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    pi = np.pi
    out = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y
    out += 0.1 * np.sqrt(np.abs(x))
    out += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    out += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    out += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    return np.asarray(out)


def in_china(lon: Any, lat: Any) -> np.ndarray:
    """Whether points fall in the rough box where GCJ-02 differs from WGS84."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    inside = (lon > 72.004) & (lon < 137.8347) & (lat > 0.8293) & (lat < 55.8271)
    return np.asarray(inside)


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Shift WGS84 longitudes/latitudes (scalars or arrays) to GCJ-02."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlat = _delta_lat(lon - 105.0, lat - 35.0)
    dlon = _delta_lon(lon - 105.0, lat - 35.0)
    radlat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_A / sqrt_magic * np.cos(radlat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_wgs84(
    lon: Any, lat: Any, *, tolerance: float = 1e-10
) -> tuple[np.ndarray, np.ndarray]:
    """Invert the forward transform by fixed-point iteration (converges in ~5 steps)."""
    glon, glat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(30):
        slon, slat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = slon - glon, slat - glat
        wlon, wlat = wlon - elon, wlat - elat
        if (
            np.nanmax(np.abs(np.concatenate([elon.ravel(), elat.ravel()])), initial=0.0)
            < tolerance
        ):
            break
    return wlon, wlat
