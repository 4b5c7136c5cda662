"""Items of a collection: one counted, filtered, paged SELECT, GeoJSON out.

The bbox is applied to the bare geometry column (the literal is transformed,
never the column) so the GIST index is used; every value is a bound parameter.
The FeatureCollection is assembled as text around PostGIS's ``ST_AsGeoJSON`` so
a 1 000-feature page is not parsed and re-serialised geometry by geometry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Subquery

from gis_service.core import pending
from gis_service.core.errors import BadRequest, NotFound
from gis_service.core.prepared import Prepared, execute, prepare
from gis_service.core.townships import TOWNSHIP_NAME
from layers.ogc.collections import Kind, parse_collection_id
from layers.ogc.cql2 import filter_clause
from layers.ogc.crs import STORAGE_SRID, ServedCrs, to_storage
from layers.ogc.params import BBox, ItemsQuery, bad


@dataclass
class Page:
    """One page of items, ready to be linked and rendered."""

    features: list[str]  # each one GeoJSON Feature as text
    rows: list[dict[str, Any]]  # the same, as properties (for HTML)
    number_matched: int
    number_returned: int


# Quick plans for the queries of an OGC request. A page or a tile is at most a
# few thousand rows: starting a parallel worker or JIT-compiling the plan costs
# more than the query (a z12 tile: 100 ms with a worker, 6 ms without; under
# row-level security the policies' cost estimates made PostgreSQL JIT-compile
# every tile, ~300 ms). A prepared tile statement keeps its generic plan
# (planning one was most of a small tile's cost; the tile's place is all that
# differs, and an index scan suits every place).
QUICK_PLANS = {
    "max_parallel_workers_per_gather": "0",
    "jit": "off",
    "plan_cache_mode": "force_generic_plan",
}


def quick_plans(session: Session) -> None:
    """Make this transaction's plans quick (sent with its next statement)."""
    pending.defer(session.connection(), QUICK_PLANS)


@cache
def _township(dialect: Dialect) -> Prepared:
    return prepare(TOWNSHIP_NAME, dialect)


def township_name(session: Session, township: str) -> str:
    """The township's name; 404 when it does not exist (or is out of scope).

    Also makes this transaction's plans quick (``quick_plans``).
    """
    quick_plans(session)
    conn = session.connection()  # prepared: every page starts here
    name = execute(conn, _township(conn.dialect), {"c": township}).scalar()
    if name is None:
        raise NotFound(f"township {township} does not exist")
    return str(name)


def resolve(session: Session, collection_id: str) -> tuple[str, Kind, str]:
    """Township, layer kind and township name of a collection id, or 404.

    The transaction's plans are quick from here on (no parallel workers, no JIT).
    """
    township, kind = parse_collection_id(collection_id)
    return township, kind, township_name(session, township)


def _envelope(box: BBox, west: float, east: float) -> Any:
    env = func.ST_MakeEnvelope(
        bindparam(None, west), bindparam(None, box.south),
        bindparam(None, east), bindparam(None, box.north), box.crs.srid,
    )  # fmt: skip
    return to_storage(env, box.crs)


def bbox_clause(t: Subquery, box: BBox) -> ColumnElement[bool]:
    """ST_Intersects on the bare column; an antimeridian box is two boxes."""
    if box.crosses_antimeridian:
        return or_(
            func.ST_Intersects(t.c.geom, _envelope(box, box.west, 180.0)),
            func.ST_Intersects(t.c.geom, _envelope(box, -180.0, box.east)),
        )
    return func.ST_Intersects(t.c.geom, _envelope(box, box.west, box.east))


def _coerce(kind: Kind, name: str, raw: str) -> Any:
    """A ``?property=value`` value as the property's type, or 400."""
    prop = kind.prop(name)
    assert prop is not None  # parse_items only lets queryables through
    try:
        if prop.type == "integer":
            return int(raw)
        if prop.type == "number":
            return float(raw)
        if prop.type == "boolean":
            return {"true": True, "false": False, "1": True, "0": False}[raw.lower()]
        if prop.type == "date":
            return date.fromisoformat(raw)
        if prop.type == "date-time":
            return datetime.fromisoformat(raw)
    except (ValueError, KeyError):
        raise bad(
            name, f"{name} {raw!r} is not a valid {prop.type}", prop.type
        ) from None
    return raw


def where_clauses(
    kind: Kind, t: Subquery, query: ItemsQuery
) -> list[ColumnElement[bool]]:
    """Every condition of the query over the collection's rows ``t``."""
    where: list[ColumnElement[bool]] = []
    if query.bbox is not None:
        where.append(bbox_clause(t, query.bbox))
    if query.datetime is not None and kind.temporal is not None:
        column = t.c[kind.temporal]
        if query.datetime.start is not None:
            where.append(column >= bindparam(None, query.datetime.start))
        if query.datetime.end is not None:
            where.append(column <= bindparam(None, query.datetime.end))
    for name, raw in query.equals.items():
        value = _coerce(kind, name, raw)
        prop = kind.prop(name)
        if prop is not None and prop.type == "tags":
            where.append(bindparam(None, value) == t.c[name].any_())
        else:
            where.append(t.c[name] == bindparam(None, value, type_=t.c[name].type))
    if query.filter is not None:
        where.append(
            filter_clause(
                kind, t, query.filter, query.filter_lang, crs=query.filter_crs
            )
        )
    return where


def _geometry(t: Subquery, crs: ServedCrs) -> Any:
    """ST_AsGeoJSON in the requested CRS, axes in that CRS's order."""
    geom: Any = t.c.geom
    if crs.srid != STORAGE_SRID:
        geom = func.ST_Transform(geom, crs.srid)
    if crs.northing_first:
        geom = func.ST_FlipCoordinates(geom)
    return func.ST_AsGeoJSON(geom, crs.digits).label("__geometry")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def _feature(fid: Any, geometry: str | None, props: dict[str, Any]) -> str:
    body = json.dumps(props, ensure_ascii=False, default=_json_default)
    return (
        f'{{"type":"Feature","id":{json.dumps(fid)},'
        f'"geometry":{geometry or "null"},"properties":{body}}}'
    )


def _selected(kind: Kind, query: ItemsQuery) -> list[str]:
    if query.properties is None:
        return [p.name for p in kind.props]
    return [p.name for p in kind.props if p.name in query.properties]


def _rows_statement(
    kind: Kind, t: Subquery, query: ItemsQuery, where: list[ColumnElement[bool]]
) -> Select[Any]:
    names = _selected(kind, query)
    order = [
        t.c[name].asc() if ascending else t.c[name].desc()
        for name, ascending in query.sortby
    ]
    return (
        select(t.c.id, *(t.c[n] for n in names), _geometry(t, query.crs))
        .where(and_(true(), *where))
        .order_by(*order, t.c.id)
        .limit(query.limit)
        .offset(query.offset)
    )


def _properties(kind: Kind, names: list[str], row: Any) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for name in names:
        value = row[name]
        prop = kind.prop(name)
        if prop is not None and prop.mask is not None:
            value = prop.mask(value)
        props[name] = value
    return props


def read_items(
    session: Session, *, kind: Kind, township: str, query: ItemsQuery
) -> Page:
    """One page of the collection, counted with the same conditions.

    Run after ``resolve`` (which made the transaction's plans quick).
    """
    t = kind.source(township, session)
    where = where_clauses(kind, t, query)
    matched = session.scalar(
        select(func.count()).select_from(t).where(and_(true(), *where))
    )
    names = _selected(kind, query)
    rows = session.execute(_rows_statement(kind, t, query, where)).mappings().all()
    features: list[str] = []
    plain: list[dict[str, Any]] = []
    for row in rows:
        props = _properties(kind, names, row)
        features.append(_feature(row["id"], row["__geometry"], props))
        plain.append({"id": row["id"], **props})
    return Page(features, plain, int(matched or 0), len(rows))


def read_item(
    session: Session, *, kind: Kind, township: str, fid: str, crs: ServedCrs
) -> tuple[str, dict[str, Any]]:
    """One feature as GeoJSON text (and its properties), or 404."""
    if not fid.isdigit() or len(fid) > 18:
        raise NotFound(f"feature {fid!r} does not exist")
    t = kind.source(township, session)
    names = [p.name for p in kind.props]
    row = (
        session.execute(
            select(t.c.id, *(t.c[n] for n in names), _geometry(t, crs)).where(
                t.c.id == bindparam(None, int(fid))
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"feature {fid} does not exist in this collection")
    props = _properties(kind, names, row)
    return _feature(row["id"], row["__geometry"], props), {"id": row["id"], **props}


_ = (literal_column, BadRequest)
