"""Mapbox vector tiles (WebMercatorQuad) of a collection, built by ST_AsMVT.

The tile's rows come from the same per-township source as the features (so the
same scope applies), filtered with ST_Intersects on the bare EPSG:4326 column
against the tile envelope transformed once; only the non-personal attributes
listed here go into a tile, with the status fields maps style by.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import morecantile
from sqlalchemy import (
    ColumnElement,
    Double,
    Select,
    Text,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from gis_service.core.errors import BadRequest, NotFound
from gis_service.core.models import Township
from gis_service.core.prepared import Prepared, execute, prepare
from layers.ogc.collections import Kind, parse_collection_id
from layers.ogc.crs import STORAGE_SRID
from layers.ogc.params import Interval, ItemsQuery, bad
from layers.ogc.service import quick_plans, where_clauses

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
    # the coverage map's households above settings.map.vector_tiles_above
    "visit_status": (
        "code", "members", "village", "tags", "grid", "cadre", "cadre_name",
        "last_visit", "days_overdue", "status", "priority",
    ),
}  # fmt: skip


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
    if prop is not None and prop.type == "tags":
        return func.array_to_string(column, "、").label(name)
    if prop is not None and prop.type in ("date", "date-time"):
        return cast(column, Text).label(name)
    return column


def serve_tile(
    session: Session,
    *,
    collection_id: str,
    z: str,
    x: str,
    y: str,
    when: Interval | None = None,
) -> bytes:
    """A collection's tile: 404 for an unknown collection, township or tile.

    One statement (after the transaction's settings, in the same round trip):
    the township's existence in scope, checked beside the tile rather than by a
    lookup before it, and the tile (``render_tile``).
    """
    township, kind = parse_collection_id(collection_id)
    zi, xi, yi = check_tile(kind, z, x, y)
    quick_plans(session)
    return render_tile(
        session, kind=kind, township=township, z=zi, x=xi, y=yi, when=when
    )


def render_tile(
    session: Session,
    *,
    kind: Kind,
    township: str,
    z: int,
    x: int,
    y: int,
    when: Interval | None = None,
) -> bytes:
    """One MVT tile (layer named after the collection's layer); b'' when empty.

    A township that does not exist, or is out of scope, is a 404. Run after
    ``service.quick_plans`` (or ``service.resolve``). ``when`` (the ``datetime``
    parameter): for a layer of states (``kind.as_of``) the instant they are
    judged at (default now); else, as for items, the period the layer's temporal
    property must fall in.
    """
    as_of = _as_of(kind, when)
    bounds = tms().xy_bounds(morecantile.Tile(x, y, z))
    place = {
        "tile_l": bounds.left, "tile_b": bounds.bottom, "tile_r": bounds.right,
        "tile_t": bounds.top,
        "tile_margin": (bounds.right - bounds.left) * BUFFER / EXTENT,
    }  # fmt: skip
    if kind.as_of or (when is not None and kind.temporal is not None):
        statement = _statement(session, kind, township, as_of=as_of, when=when)
        row = session.execute(statement, place).one()
    else:
        prepared = _prepared(session, kind, township)
        row = execute(session.connection(), prepared, place).one()
    found, tile = row.found, row.tile
    if not found:
        raise NotFound(f"township {township} does not exist")
    return bytes(tile) if tile else b""


# (kind, township) -> the tile statement as a prepared statement, its township
# and the other values among its parameters: building and compiling the
# subqueries cost more Python time per tile than PostgreSQL spent on the tile,
# and planning it (row-level security's subplans) ~0.7 ms against ~0.1 ms to
# run a z16 tile. The place is bound per tile. With the township a parameter,
# every township shares one PREPAREd statement per layer.
_PREPARED: dict[tuple[str, str, str], Prepared] = {}


def _prepared(session: Session, kind: Kind, township: str) -> Prepared:
    dialect = session.get_bind().dialect
    key = (kind.name, township, dialect.name)
    if key not in _PREPARED:
        if len(_PREPARED) > 4096:  # many townships: start over
            _PREPARED.clear()
        _PREPARED[key] = prepare(_statement(session, kind, township), dialect)
    return _PREPARED[key]


def _statement(
    session: Session,
    kind: Kind,
    township: str,
    *,
    as_of: datetime | None = None,
    when: Interval | None = None,
) -> Select[Any]:
    """The tile's SELECT; the tile's place is bound as tile_l/b/r/t/margin."""
    envelope = func.ST_MakeEnvelope(
        # named apart from the sources' own (":t" is a township in SQL text)
        # (placeholder values: every tile binds its own)
        bindparam("tile_l", 0.0, Double), bindparam("tile_b", 0.0, Double),
        bindparam("tile_r", 0.0, Double), bindparam("tile_t", 0.0, Double), 3857,
    )  # fmt: skip
    search = func.ST_Transform(
        func.ST_Expand(envelope, bindparam("tile_margin", 0.0, Double)), STORAGE_SRID
    )
    t = kind.source(township, session, as_of=as_of)
    where: list[ColumnElement[bool]] = [func.ST_Intersects(t.c.geom, search)]
    if when is not None and kind.temporal is not None:
        where += where_clauses(kind, t, ItemsQuery(datetime=when))
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
        .where(*where)
        .subquery("q")
    )
    tile = (
        select(
            func.ST_AsMVT(
                literal_column("q"), bindparam("layer", kind.name), EXTENT, "geom", "id"
            )
        )
        .select_from(rows)
        .where(rows.c.geom.is_not(None))
        .scalar_subquery()
    )
    # the township lookup's 404 (it does not exist, or not in scope) in the
    # same statement: a round trip less per tile
    found = exists().where(Township.code == township)
    return select(found.label("found"), tile.label("tile"))


# what parse_datetime makes of one date-time, or of one date (the whole day)
_INSTANT = (timedelta(0), timedelta(days=1, microseconds=-1))


def _as_of(kind: Kind, when: Interval | None) -> datetime | None:
    """The instant a layer of states is shown at: one instant, else a 400."""
    if when is None or not kind.as_of:
        return None
    if when.start is None or when.end is None or when.end - when.start not in _INSTANT:
        raise bad("datetime", f"{kind.name} tiles show one instant, not a period",
                  "instant")  # fmt: skip
    return when.end


def etag(tile: bytes) -> str:
    """A strong validator of the tile's bytes."""
    return '"' + hashlib.blake2b(tile, digest_size=16).hexdigest() + '"'


def tilematrixset() -> dict[str, Any]:
    """The TileMatrixSet document (OGC TMS 2.0 JSON)."""
    doc: dict[str, Any] = tms().model_dump(exclude_none=True, mode="json")
    return doc
