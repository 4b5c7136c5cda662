"""The metadata documents: landing page, conformance, collections, queryables.

Links are absolute (GDAL and QGIS follow them as given) and typed, so a client
picks the JSON or GeoJSON one without guessing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.ogc.collections import KINDS, Kind
from layers.ogc.crs import CRS84, crs_list
from layers.ogc.params import LIMIT_DEFAULT, LIMIT_MAX

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA = "application/schema+json"
MVT = "application/vnd.mapbox-vector-tile"

_F1 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
_F2 = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/"
_F3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
_CQL = "http://www.opengis.net/spec/cql2/1.0/conf/"
_TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
CONFORMS_TO = [
    *(_F1 + c for c in ("core", "oas30", "html", "geojson")),
    _F2 + "crs",
    *(_F3 + c for c in ("queryables", "queryables-query-parameters", "filter",
                        "features-filter")),
    *(_CQL + c for c in ("cql2-text", "cql2-json", "basic-cql2",
                         "advanced-comparison-operators", "basic-spatial-functions",
                         "basic-spatial-functions-plus", "spatial-functions")),
    *(_TILES + c for c in ("core", "tileset", "tilesets-list", "geodata-tilesets",
                           "mvt", "oas30")),
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
]  # fmt: skip

# Spatial extent per base table and township; temporal extent per time column.
# Identifiers are constants; the township is a bound parameter (NULL: all).
_EXTENTS = text(
    """
    WITH s AS (
      SELECT 'grids' AS src, township_code, ST_Extent(geom) AS e FROM grids
       WHERE CAST(:t AS text) IS NULL OR township_code = :t GROUP BY 2
      UNION ALL
      SELECT 'households', township_code, ST_Extent(geom) FROM households
       WHERE CAST(:t AS text) IS NULL OR township_code = :t GROUP BY 2
      UNION ALL
      SELECT 'cadres', township_code, ST_Extent(base) FROM cadres
       WHERE CAST(:t AS text) IS NULL OR township_code = :t GROUP BY 2
      UNION ALL
      SELECT 'pasture_parcels', township_code, ST_Extent(geom) FROM pasture_parcels
       WHERE CAST(:t AS text) IS NULL OR township_code = :t GROUP BY 2
      UNION ALL
      SELECT 'hazards', township_code, ST_Extent(geom) FROM hazards
       WHERE CAST(:t AS text) IS NULL OR township_code = :t GROUP BY 2
      UNION ALL
      SELECT 'roads', township_code, ST_Extent(geom) FROM roads
       WHERE CAST(:t AS text) IS NULL OR township_code = :t GROUP BY 2
    )
    SELECT src, township_code, ST_XMin(e) AS x0, ST_YMin(e) AS y0,
           ST_XMax(e) AS x1, ST_YMax(e) AS y1, NULL::timestamptz AS t0,
           NULL::timestamptz AS t1
    FROM s WHERE e IS NOT NULL
    UNION ALL
    SELECT 'hazards', township_code, NULL, NULL, NULL, NULL,
           min(found_at), max(found_at) FROM hazards
     WHERE CAST(:t AS text) IS NULL OR township_code = :t GROUP BY 2
    UNION ALL
    SELECT 'disputes', township_code, NULL, NULL, NULL, NULL,
           min(first_detected_at), max(first_detected_at) FROM disputes
     WHERE CAST(:t AS text) IS NULL OR township_code = :t GROUP BY 2
    UNION ALL
    SELECT 'visits', township_code, NULL, NULL, NULL, NULL,
           min(visited_at), max(visited_at) FROM visits
     WHERE CAST(:t AS text) IS NULL OR township_code = :t GROUP BY 2
    UNION ALL
    SELECT 'demands', township_code, NULL, NULL, NULL, NULL,
           min(created_at), max(created_at) FROM demands
     WHERE CAST(:t AS text) IS NULL OR township_code = :t GROUP BY 2
    """
)
_TIME_SOURCE = {
    "hazards": "hazards",
    "disputes": "disputes",
    "visits": "visits",
    "demands": "demands",
    "uncovered": "visits",
}
_TOWNSHIPS = text("SELECT code, name FROM townships ORDER BY code")
_TOWNSHIP = text("SELECT code, name FROM townships WHERE code = :t")


def link(href: str, rel: str, type_: str, title: str) -> dict[str, str]:
    """One link object."""
    return {"href": href, "rel": rel, "type": type_, "title": title}


def landing(base: str) -> dict[str, Any]:
    """The landing page with the links OGC clients look for."""
    return {
        "title": "GridGIS OGC API",
        "description": "网格化管理图层: OGC API – Features (CQL2) 与矢量瓦片",
        "links": [
            link(base + "/", "self", JSON, "本页"),
            link(base + "/?f=html", "alternate", HTML, "本页 (HTML)"),
            link(base + "/api", "service-desc", OPENAPI, "OpenAPI 3.0 定义"),
            link(base + "/api.html", "service-doc", HTML, "接口文档"),
            link(base + "/conformance", "conformance", JSON, "符合的标准"),
            link(base + "/conformance", "http://www.opengis.net/def/rel/ogc/1.0/conformance",
                 JSON, "符合的标准"),
            link(base + "/collections", "data", JSON, "图层列表"),
            link(base + "/collections", "http://www.opengis.net/def/rel/ogc/1.0/data",
                 JSON, "图层列表"),
            link(base + "/tileMatrixSets", "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
                 JSON, "瓦片矩阵集"),
        ],
    }  # fmt: skip


def conformance() -> dict[str, Any]:
    """The conformance classes implemented."""
    return {"conformsTo": CONFORMS_TO}


def _extents(session: Session, township: str | None) -> dict[tuple[str, str], Any]:
    rows = session.execute(_EXTENTS, {"t": township}).mappings()
    return {(r["src"], r["township_code"]): r for r in rows}


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def collection(
    base: str,
    township: str,
    township_title: str,
    kind: Kind,
    extents: dict[tuple[str, str], Any],
) -> dict[str, Any]:
    """One collection's description: extent, CRSs and links."""
    cid = f"{township}.{kind.name}"
    href = f"{base}/collections/{cid}"
    extent: dict[str, Any] = {}
    space = extents.get((kind.extent_of or "", township))
    if space is not None:
        extent["spatial"] = {
            "bbox": [[space["x0"], space["y0"], space["x1"], space["y1"]]],
            "crs": CRS84,
        }
    time = extents.get((_TIME_SOURCE.get(kind.name, ""), township))
    if kind.temporal is not None:
        interval = [_iso(time["t0"]), _iso(time["t1"])] if time else [None, None]
        extent["temporal"] = {
            "interval": [interval],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    links = [
        link(href, "self", JSON, "本图层"),
        link(href + "?f=html", "alternate", HTML, "本图层 (HTML)"),
        link(href + "/items", "items", GEOJSON, "要素"),
        link(href + "/items?f=html", "items", HTML, "要素 (HTML)"),
        link(href + "/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables",
             SCHEMA, "可查询属性"),
    ]  # fmt: skip
    if kind.tiles:
        links.append(
            link(href + "/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                 JSON, "矢量瓦片集")
        )  # fmt: skip
    return {
        "id": cid,
        "title": f"{township_title} {kind.title}",
        "description": f"{township_title}({township})的{kind.title}",
        "itemType": "feature",
        "extent": extent,
        "crs": crs_list(),
        "storageCrs": CRS84,
        "links": links,
    }


def collections(session: Session, base: str) -> dict[str, Any]:
    """Every collection of every township in scope."""
    extents = _extents(session, None)
    townships = session.execute(_TOWNSHIPS).all()
    return {
        "links": [
            link(base + "/collections", "self", JSON, "图层列表"),
            link(base + "/collections?f=html", "alternate", HTML, "图层列表 (HTML)"),
        ],
        "collections": [
            collection(base, code, name, kind, extents)
            for code, name in townships
            for kind in KINDS.values()
        ],
        "crs": crs_list(),
    }


def one_collection(
    session: Session, base: str, township: str, name: str, kind: Kind
) -> dict[str, Any]:
    """A single collection's description."""
    return collection(base, township, name, kind, _extents(session, township))


_JSON_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "date-time": {"type": "string", "format": "date-time"},
    "tags": {"type": "array", "items": {"type": "string"}},
}
_GEOMETRY_SCHEMA = {
    "Point": "https://geojson.org/schema/Point.json",
    "MultiPolygon": "https://geojson.org/schema/MultiPolygon.json",
    "MultiLineString": "https://geojson.org/schema/MultiLineString.json",
}


def queryables(base: str, township: str, kind: Kind, title: str) -> dict[str, Any]:
    """The JSON Schema of what filters, CQL2 and sortby may name."""
    cid = f"{township}.{kind.name}"
    props: dict[str, Any] = {
        "id": {"title": "编号", "type": "integer"},
        "geometry": {"title": "几何", "$ref": _GEOMETRY_SCHEMA[kind.geometry_type]},
    }
    for p in kind.queryables:
        props[p.name] = {"title": p.title, **_JSON_TYPES[p.type]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{cid}/queryables",
        "type": "object",
        "title": f"{title} {kind.title}",
        "properties": props,
        "additionalProperties": False,
    }


LIMITS = {"minimum": 1, "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT}
