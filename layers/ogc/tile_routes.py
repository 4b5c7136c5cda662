"""OGC API – Tiles (vector, WebMercatorQuad) and the plain /tiles/{z}/{x}/{y}.pbf."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gis_service.core.deps import SessionDep
from gis_service.core.errors import NotAcceptable
from layers.ogc.documents import JSON, MVT, link
from layers.ogc.openapi import (
    COLLECTION_ID,
    DATETIME,
    F_JSON,
    F_MVT,
    answers,
    tile_path,
)
from layers.ogc.params import parse_datetime, single_values
from layers.ogc.render import json_response, negotiate
from layers.ogc.service import resolve
from layers.ogc.tiles import (
    MAX_ZOOM,
    TILE_PROPS,
    TMS_ID,
    check_tile,
    etag,
    serve_tile,
    tilematrixset,
)

router = APIRouter()
_TMS_REL = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
_TILE_PARAMS = [
    COLLECTION_ID,
    tile_path("tileMatrix", MAX_ZOOM),
    tile_path("tileRow"),
    tile_path("tileCol"),
]

# An empty tile is a 204, an unchanged one (If-None-Match) a 304.
_TILE_ANSWERS = {
    **answers(MVT),
    204: {"description": "no feature in this tile"},
    304: {"description": "unchanged since the ETag sent"},
}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _json_only(request: Request) -> None:
    values = single_values(request.query_params.multi_items(), ("f",))
    negotiate(values.get("f"), request.headers.get("accept"), html=False)


@router.get("/tileMatrixSets", openapi_extra={"parameters": [F_JSON]})
def tile_matrix_sets(request: Request) -> Response:
    """The tiling schemes served (WebMercatorQuad)."""
    _json_only(request)
    href = f"{_base(request)}/tileMatrixSets/{TMS_ID}"
    return json_response(
        {
            "tileMatrixSets": [
                {"id": TMS_ID, "title": "Google Maps Compatible for the World",
                 "links": [link(href, _TMS_REL, JSON, TMS_ID)]}
            ]
        }
    )  # fmt: skip


@router.get(f"/tileMatrixSets/{TMS_ID}", openapi_extra={"parameters": [F_JSON]})
def tile_matrix_set(request: Request) -> Response:
    """The WebMercatorQuad TileMatrixSet definition."""
    _json_only(request)
    return json_response(tilematrixset())


def _tileset(base: str, collection_id: str, kind_name: str) -> dict[str, Any]:
    href = f"{base}/collections/{collection_id}/tiles/{TMS_ID}"
    return {
        "title": f"{collection_id} {TMS_ID}",
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/"
        + TMS_ID,
        "links": [
            link(href, "self", JSON, "瓦片集"),
            link(f"{base}/tileMatrixSets/{TMS_ID}", _TMS_REL, JSON, TMS_ID),
            link(href + "/{tileMatrix}/{tileRow}/{tileCol}", "item", MVT, "瓦片"),
        ],
        "layers": [
            {"id": kind_name, "dataType": "vector", "minTileMatrix": "0",
             "maxTileMatrix": str(MAX_ZOOM),
             "propertiesSchema": {"type": "object", "properties": {
                 p: {"title": p} for p in TILE_PROPS[kind_name]}}}
        ],
    }  # fmt: skip


@router.get(
    "/collections/{collectionId}/tiles",
    openapi_extra={"parameters": [COLLECTION_ID, F_JSON]},
)
def tilesets(request: Request, session: SessionDep, collectionId: str) -> Response:
    """The vector tilesets of a collection."""
    _json_only(request)
    _, kind, _ = resolve(session, collectionId)
    check_tile(kind, "0", "0", "0")
    return json_response(
        {"tilesets": [_tileset(_base(request), collectionId, kind.name)]}
    )


@router.get(
    f"/collections/{{collectionId}}/tiles/{TMS_ID}",
    openapi_extra={"parameters": [COLLECTION_ID, F_JSON]},
)
def tileset(request: Request, session: SessionDep, collectionId: str) -> Response:
    """One tileset's metadata: tiling scheme, tile URL template, layers."""
    _json_only(request)
    _, kind, _ = resolve(session, collectionId)
    check_tile(kind, "0", "0", "0")
    return json_response(_tileset(_base(request), collectionId, kind.name))


async def _tile(
    request: Request, session: Session, collection_id: str, z: str, x: str, y: str
) -> Response:
    """Parse on the event loop; the tile's database work in one thread-pool hop."""
    values = single_values(request.query_params.multi_items(), ("f", "datetime"))
    f = values.get("f")
    if f not in (None, "mvt"):
        raise NotAcceptable(
            f"f={f!r}: tiles are served as mvt only",
            errors=[{"field": "f", "reason": "unsupported format"}],
        )
    when = parse_datetime(values.get("datetime"))
    tile = await run_in_threadpool(
        serve_tile, session, collection_id=collection_id, z=z, x=x, y=y, when=when
    )
    tag = etag(tile)
    # Private: a tile holds what this caller may see; revalidate after a minute.
    headers = {"ETag": tag, "Cache-Control": "private, max-age=60"}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    if not tile:
        return Response(status_code=204, headers=headers)
    return Response(tile, media_type=MVT, headers=headers)


@router.get(
    f"/collections/{{collectionId}}/tiles/{TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
    openapi_extra={"parameters": [*_TILE_PARAMS, F_MVT, DATETIME]},
    response_class=Response,
    responses=_TILE_ANSWERS,
)
async def ogc_tile(
    request: Request,
    session: SessionDep,
    collectionId: str,
    tileMatrix: str,
    tileRow: str,
    tileCol: str,
) -> Response:
    """A vector tile addressed the OGC way (matrix/row/column)."""
    return await _tile(request, session, collectionId, tileMatrix, tileCol, tileRow)


@router.get(
    "/tiles/{collectionId}/{z}/{x}/{y}.pbf",
    openapi_extra={"parameters": [COLLECTION_ID, tile_path("z", MAX_ZOOM),
                                  tile_path("x"), tile_path("y"), F_MVT, DATETIME]},
    response_class=Response,
    responses=_TILE_ANSWERS,
)  # fmt: skip
async def xyz_tile(
    request: Request,
    session: SessionDep,
    collectionId: str,
    z: str,
    x: str,
    y: str,
) -> Response:
    """A vector tile by z/x/y (Leaflet/MapLibre URL templates)."""
    return await _tile(request, session, collectionId, z, x, y)
