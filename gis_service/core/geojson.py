"""GeoJSON output shared by every layer, map and route response.

Geometries are rendered by PostGIS (``ST_AsGeoJSON(geom, 7)``, ~1 cm) and parsed
here once, so no service hand-builds coordinate arrays.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any


def feature(
    properties: Mapping[str, Any],
    geometry: str | dict[str, Any] | None,
    *,
    fid: Any = None,
) -> dict[str, Any]:
    """One GeoJSON Feature; ``geometry`` may be ST_AsGeoJSON text or a dict."""
    geom = json.loads(geometry) if isinstance(geometry, str) else geometry
    out: dict[str, Any] = {
        "type": "Feature",
        "geometry": geom,
        "properties": dict(properties),
    }
    if fid is not None:
        out["id"] = fid
    return out


def feature_collection(
    rows: Iterable[Mapping[str, Any]],
    *,
    geometry_key: str = "geometry",
    id_key: str | None = "id",
    **members: Any,
) -> dict[str, Any]:
    """A FeatureCollection from row mappings whose ``geometry_key`` is GeoJSON text."""
    features = []
    for row in rows:
        props = {k: v for k, v in row.items() if k != geometry_key}
        features.append(
            feature(
                props, row.get(geometry_key), fid=row.get(id_key) if id_key else None
            )
        )
    return {"type": "FeatureCollection", "features": features, **members}
