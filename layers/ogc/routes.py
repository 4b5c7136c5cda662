"""OGC API – Features (Part 1 core/GeoJSON/HTML/OpenAPI, Part 2 CRS) under /ogc."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from gis_service.core.deps import SessionDep
from layers.ogc import documents as docs
from layers.ogc.crs import parse_crs
from layers.ogc.documents import GEOJSON, HTML, JSON, OPENAPI, SCHEMA, link
from layers.ogc.openapi import (
    COLLECTION_ID,
    FEATURE_ID,
    ITEMS,
    F,
    answers,
    ogc_document,
)
from layers.ogc.openapi import queryable_parameters as _queryable_parameters
from layers.ogc.params import parse_items, single_values
from layers.ogc.render import (
    feature_collection_text,
    html_response,
    json_response,
    negotiate,
    page_links,
)
from layers.ogc.service import read_item, read_items, resolve
from layers.ogc.tile_routes import router as tiles_router

router = APIRouter(prefix="/ogc", tags=["OGC API"])
router.include_router(tiles_router)


def base_url(request: Request) -> str:
    """The OGC root as the client addressed it (links are absolute)."""
    return str(request.base_url).rstrip("/") + "/ogc"


def _format(request: Request, allowed: tuple[str, ...] = ("f",)) -> str:
    """Refuse unknown parameters, then negotiate json/html."""
    values = single_values(request.query_params.multi_items(), allowed)
    return negotiate(values.get("f"), request.headers.get("accept"))


def _html_links(doc: dict[str, Any]) -> list[dict[str, str]]:
    return [lk for lk in doc.get("links", []) if lk["rel"] != "self"]


@router.get("", include_in_schema=False)
@router.get("/", openapi_extra={"parameters": [F]}, responses=answers(JSON, HTML))
def landing_page(request: Request) -> Response:
    """Landing page: links to the API definition, conformance and collections."""
    fmt = _format(request)
    doc = docs.landing(base_url(request))
    if fmt == "html":
        return html_response(title=doc["title"], description=doc["description"],
                             links=_html_links(doc))  # fmt: skip
    return json_response(doc)


@router.get(
    "/conformance", openapi_extra={"parameters": [F]}, responses=answers(JSON, HTML)
)
def conformance(request: Request) -> Response:
    """The conformance classes this API implements."""
    fmt = _format(request)
    doc = docs.conformance()
    if fmt == "html":
        return html_response(title="符合的标准", links=[], headers=["标准"],
                             rows=[[c] for c in doc["conformsTo"]])  # fmt: skip
    return json_response(doc)


@router.get("/api", openapi_extra={"parameters": []}, responses=answers(OPENAPI))
def api_definition(request: Request) -> Response:
    """The OpenAPI 3.0 definition of the OGC API (relative to /ogc)."""
    single_values(request.query_params.multi_items(), ("f",))
    return json_response(
        ogc_document(request.app.openapi(), base_url(request)), OPENAPI
    )


@router.get("/api.html", include_in_schema=False)
def api_page() -> RedirectResponse:
    """Human-readable API documentation (Swagger UI)."""
    return RedirectResponse("/docs")


@router.get(
    "/collections", openapi_extra={"parameters": [F]}, responses=answers(JSON, HTML)
)
def collections(request: Request, session: SessionDep) -> Response:
    """Every layer of every township in scope, with extents and CRSs."""
    fmt = _format(request)
    doc = docs.collections(session, base_url(request))
    if fmt == "html":
        rows = [
            [{"href": c["links"][1]["href"], "text": c["id"]}, c["title"]]
            for c in doc["collections"]
        ]
        return html_response(title="图层列表", links=_html_links(doc),
                             headers=["编号", "名称"], rows=rows)  # fmt: skip
    return json_response(doc)


@router.get(
    "/collections/{collectionId}",
    openapi_extra={"parameters": [COLLECTION_ID, F]},
    responses=answers(JSON, HTML),
)
def collection(request: Request, session: SessionDep, collectionId: str) -> Response:
    """One layer: extent, storage CRS, the CRSs served and its links."""
    fmt = _format(request)
    township, kind, name = resolve(session, collectionId)
    doc = docs.one_collection(session, base_url(request), township, name, kind)
    if fmt == "html":
        facts = [("范围", doc["extent"]), ("存储坐标系", doc["storageCrs"])]
        return html_response(title=doc["title"], description=doc["description"],
                             facts=facts, links=_html_links(doc))  # fmt: skip
    return json_response(doc)


@router.get(
    "/collections/{collectionId}/queryables",
    openapi_extra={"parameters": [COLLECTION_ID, F]},
    responses=answers(SCHEMA, HTML),
)
def queryables(request: Request, session: SessionDep, collectionId: str) -> Response:
    """The properties filters, CQL2 and sortby may use (JSON Schema)."""
    fmt = _format(request)
    township, kind, name = resolve(session, collectionId)
    doc = docs.queryables(base_url(request), township, kind, name)
    if fmt == "html":
        rows = [[k, v.get("title"), v.get("type", "geometry")]
                for k, v in doc["properties"].items()]  # fmt: skip
        return html_response(title=doc["title"] + " 可查询属性", links=[],
                             headers=["属性", "名称", "类型"], rows=rows)  # fmt: skip
    return json_response(doc, SCHEMA)


@router.get(
    "/collections/{collectionId}/items",
    openapi_extra={"parameters": [*ITEMS, *_queryable_parameters()]},
    responses=answers(GEOJSON, HTML),
)
def items(request: Request, session: SessionDep, collectionId: str) -> Response:
    """Features of a layer: bbox, datetime, CQL2 filter, paging, CRS."""
    township, kind, name = resolve(session, collectionId)
    query = parse_items(
        request.query_params.multi_items(),
        queryables=[p.name for p in kind.queryables],
        properties=[p.name for p in kind.props],
    )
    fmt = negotiate(query.fmt, request.headers.get("accept"))
    page = read_items(session, kind=kind, township=township, query=query)
    links = page_links(request, f"{base_url(request)}/collections/{collectionId}",
                       query=query, page=page, fmt=fmt)  # fmt: skip
    headers = {"Content-Crs": f"<{query.crs.uri}>"}
    if fmt == "html":
        names = ["id", *(query.properties or [p.name for p in kind.props])]
        rows = [[r.get(n) for n in names] for r in page.rows]
        facts = [("匹配", page.number_matched), ("本页", page.number_returned)]
        html_links = [lk for lk in links if lk["rel"] in ("next", "prev", "collection")]
        resp = html_response(title=f"{name} {kind.title}", facts=facts,
                             links=html_links, headers=names, rows=rows)  # fmt: skip
        resp.headers.update(headers)
        return resp
    return json_response(feature_collection_text(page, links), GEOJSON, headers)


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    openapi_extra={"parameters": [COLLECTION_ID, FEATURE_ID, ITEMS[5], F]},
    responses=answers(GEOJSON, HTML),
)
def item(
    request: Request,
    session: SessionDep,
    collectionId: str,
    featureId: str,
) -> Response:
    """One feature by its id."""
    values = single_values(request.query_params.multi_items(), ("f", "crs"))
    fmt = negotiate(values.get("f"), request.headers.get("accept"))
    township, kind, name = resolve(session, collectionId)
    crs = parse_crs(values.get("crs"), field="crs")
    feature, props = read_item(
        session, kind=kind, township=township, fid=featureId, crs=crs
    )
    base = f"{base_url(request)}/collections/{collectionId}"
    links = [
        link(f"{base}/items/{featureId}", "self", GEOJSON, "本要素"),
        link(base, "collection", JSON, "图层"),
    ]
    headers = {"Content-Crs": f"<{crs.uri}>"}
    if fmt == "html":
        return html_response(title=f"{name} {kind.title} {featureId}",
                             links=links, headers=["属性", "值"],
                             rows=[[k, v] for k, v in props.items()])  # fmt: skip

    body = feature[:-1] + f',"links":{json.dumps(links, ensure_ascii=False)}}}'
    return json_response(body, GEOJSON, headers)
