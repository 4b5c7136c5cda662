"""Mapbox vector tiles (WebMercatorQuad) of a collection, built by ST_AsMVT.

The tile's rows come from the same per-township source as the features (so the
same scope applies), filtered with ST_Intersects on the bare EPSG:4326 column
against the tile envelope transformed once; only the non-personal attributes
listed here go into a tile, with the status fields maps style by.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

import morecantile
from sqlalchemy import (
    Double,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from gis_service.core.errors import BadRequest, NotFound
from layers.ogc.collections import Kind
from layers.ogc.crs import STORAGE_SRID
from layers.ogc.service import quick_plans

TMS_ID = "WebMercatorQuad"
EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22
# Attributes per tiled layer: codes and the status fields maps colour by.
TILE_PROPS: dict[str, tuple[str, ...]] = {
    "grids": ("code", "name", "level", "depth"),
    "households": ("code", "village", "members", "grid", "cadre"),
    "parcels": ("contract_no", "holder", "contract_area_mu"),
    "disputes": ("status", "parcel_a", "parcel_b", "overlap_area_m2"),
    "hazards": ("code", "kind", "severity", "status"),
}


@cache
def tms() -> morecantile.TileMatrixSet:
    """The WebMercatorQuad tile matrix set (morecantile's definition)."""
    return morecantile.tms.get(TMS_ID)


def check_tile(kind: Kind, z: str, x: str, y: str) -> tuple[int, int, int]:
    """Integers inside the matrix, for a tiled layer; else 400/404."""
    if kind.name not in TILE_PROPS:
        raise NotFound(
            f"layer {kind.name} has no vector tiles; tiled: " + ", ".join(TILE_PROPS)
        )
    if not (z.isdigit() and x.isdigit() and y.isdigit()):
        raise BadRequest(
            f"tile {z}/{x}/{y} must be three non-negative integers",
            errors=[{"field": "tile", "reason": "integers"}],
        )
    zi, xi, yi = int(z), int(x), int(y)
    if zi > MAX_ZOOM or xi >= 2**zi or yi >= 2**zi:
        raise NotFound(f"tile {z}/{x}/{y} is outside {TMS_ID} (zoom 0-{MAX_ZOOM})")
    return zi, xi, yi


def _attribute(kind: Kind, t: Any, name: str) -> Any:
    """A column as a type MVT can carry (numbers, booleans, text)."""
    prop = kind.prop(name)
    column = t.c[name]
    if prop is not None and prop.type == "number":
        return cast(column, Double).label(name)
    if prop is not None and prop.type in ("date", "date-time", "tags"):
        return cast(column, Text).label(name)
    return column


def render_tile(
    session: Session, *, kind: Kind, township: str, z: int, x: int, y: int
) -> bytes:
    """One MVT tile (layer named after the collection's layer); b'' when empty."""
    bounds = tms().xy_bounds(morecantile.Tile(x, y, z))
    margin = (bounds.right - bounds.left) * BUFFER / EXTENT
    envelope = func.ST_MakeEnvelope(
        bindparam("l", bounds.left), bindparam("b", bounds.bottom),
        bindparam("r", bounds.right), bindparam("t", bounds.top), 3857,
    )  # fmt: skip
    search = func.ST_Transform(
        func.ST_Expand(envelope, bindparam("margin", margin)), STORAGE_SRID
    )
    t = kind.source(township, session)
    rows = (
        select(
            t.c.id,
            *(_attribute(kind, t, n) for n in TILE_PROPS[kind.name]),
            func.ST_AsMVTGeom(
                func.ST_Transform(t.c.geom, 3857),
                func.Box2D(envelope),
                EXTENT,
                BUFFER,
                True,
            ).label("geom"),
        )
        .where(func.ST_Intersects(t.c.geom, search))
        .subquery("q")
    )
    statement = (
        select(
            func.ST_AsMVT(
                literal_column("q"), bindparam("layer", kind.name), EXTENT, "geom", "id"
            )
        )
        .select_from(rows)
        .where(rows.c.geom.is_not(None))
    )
    quick_plans(session)
    tile = session.scalar(statement)
    return bytes(tile) if tile else b""


def etag(tile: bytes) -> str:
    """A strong validator of the tile's bytes."""
    return '"' + hashlib.blake2b(tile, digest_size=16).hexdigest() + '"'


def tilematrixset() -> dict[str, Any]:
    """The TileMatrixSet document (OGC TMS 2.0 JSON)."""
    doc: dict[str, Any] = tms().model_dump(exclude_none=True, mode="json")
    return doc
