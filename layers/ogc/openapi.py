"""OpenAPI parameter declarations (as OGC writes them) and the /ogc/api document.

The handlers read the raw query string themselves (see ``params``), so the
parameters are declared here: ``limit`` with its minimum, maximum and default,
``bbox`` as 4 or 6 numbers, and every queryable as a query parameter, which is
how GDAL's OAPIF driver decides which attribute filters to send to the server.
"""

from __future__ import annotations

import copy
from typing import Any

from layers.ogc.collections import KINDS
from layers.ogc.crs import CRS84, crs_list
from layers.ogc.documents import _JSON_TYPES
from layers.ogc.params import LIMIT_DEFAULT, LIMIT_MAX


def _q(
    name: str, schema: dict[str, Any], description: str, **extra: Any
) -> dict[str, Any]:
    return {
        "name": name, "in": "query", "required": False, "schema": schema,
        "description": description, **extra,
    }  # fmt: skip


F = _q("f", {"type": "string", "enum": ["json", "html"]}, "输出格式 (覆盖 Accept)")
F_JSON = _q("f", {"type": "string", "enum": ["json"]}, "输出格式 (只有 json)")
F_MVT = _q("f", {"type": "string", "enum": ["mvt"]}, "输出格式 (只有 mvt)")
DATETIME = _q(
    "datetime", {"type": "string"},
    "时刻或时段 (RFC 3339): visit_status 图层按此时刻判定走访状态 (只接受时刻); "
    "有时间属性的图层按时段筛选",
)  # fmt: skip


def answers(*media: str) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses=``: the media types its 200 really carries."""
    return {200: {"description": "OK", "content": {m: {} for m in media}}}


# 0..MAX_ZOOM and a non-negative index; beyond the matrix is a 404, not a 400.
def tile_path(name: str, maximum: int | None = None) -> dict[str, Any]:
    """A tile's zoom/row/column path parameter: a non-negative integer."""
    schema: dict[str, Any] = {"type": "integer", "minimum": 0}
    if maximum is not None:
        schema["maximum"] = maximum
    return {"name": name, "in": "path", "required": True, "schema": schema}


COLLECTION_ID = {
    "name": "collectionId", "in": "path", "required": True,
    "schema": {"type": "string"}, "description": "{乡镇代码}.{图层}",
}  # fmt: skip
FEATURE_ID = {
    "name": "featureId", "in": "path", "required": True,
    "schema": {"type": "string"}, "description": "要素编号",
}  # fmt: skip
ITEMS = [
    COLLECTION_ID,
    _q("limit", {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX,
                 "default": LIMIT_DEFAULT},
       f"每页要素数; 大于 {LIMIT_MAX} 时按 {LIMIT_MAX} 返回", style="form",
       explode=False),
    _q("offset", {"type": "integer", "minimum": 0, "default": 0}, "跳过的要素数"),
    _q("bbox", {"type": "array", "minItems": 4, "maxItems": 6,
                "items": {"type": "number"}},
       "minx,miny,maxx,maxy (或 6 个数); 西 > 东 表示跨 180° 经线", style="form",
       explode=False),
    _q("bbox-crs", {"type": "string", "format": "uri", "default": CRS84,
                    "enum": crs_list()}, "bbox 的坐标系"),
    _q("crs", {"type": "string", "format": "uri", "default": CRS84,
               "enum": crs_list()}, "输出坐标系"),
    _q("datetime", {"type": "string"},
       "RFC 3339 时刻或区间 (a/b, ../b, a/..)", style="form", explode=False),
    _q("properties", {"type": "array", "items": {"type": "string"}},
       "只返回这些属性", style="form", explode=False),
    _q("sortby", {"type": "array", "items": {"type": "string"}},
       "排序: +属性 / -属性", style="form", explode=False),
    _q("filter", {"type": "string"}, "CQL2 过滤条件"),
    _q("filter-lang", {"type": "string", "enum": ["cql2-text", "cql2-json"],
                       "default": "cql2-text"}, "过滤条件的语言"),
    _q("filter-crs", {"type": "string", "format": "uri", "enum": crs_list(),
                      "default": CRS84},
       "过滤条件中几何的坐标系 (EPSG:4326/4490 及高斯-克吕格投影按北、东轴序)"),
    F,
]  # fmt: skip


def queryable_parameters() -> list[dict[str, Any]]:
    """Every queryable of any layer as ``?name=value`` (equality)."""
    seen: dict[str, dict[str, Any]] = {}
    for kind in KINDS.values():
        for p in kind.queryables:
            schema = _JSON_TYPES[p.type]
            if p.type == "tags":
                schema = {"type": "string"}
            seen.setdefault(p.name, _q(p.name, schema, f"{p.title} 等于"))
    return list(seen.values())


def ogc_document(full: dict[str, Any], base: str) -> dict[str, Any]:
    """The app's OpenAPI cut down to /ogc, served relative to the OGC root."""
    doc = copy.deepcopy(full)
    doc["servers"] = [{"url": base}]
    doc["paths"] = {
        path[len("/ogc") :] or "/": item
        for path, item in doc.get("paths", {}).items()
        if path.startswith("/ogc/") or path == "/ogc"
    }
    items = doc["paths"].get("/collections/{collectionId}/items", {}).get("get")
    if items is not None:
        items["parameters"] = [*items.get("parameters", []), *queryable_parameters()]
    doc["info"] = {**doc.get("info", {}), "title": "GridGIS OGC API"}
    return doc
