"""HTTP routes of the layers package (parse, call one service, answer)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse

from gis_service.core import jobs
from gis_service.core.auth.deps import CurrentUser, UnmaskDep
from gis_service.core.auth.policy import check_patch
from gis_service.core.columns import parse_field_map
from gis_service.core.deps import (
    BBoxDep,
    PageDep,
    SessionDep,
    SettingsDep,
    TownshipDep,
)
from gis_service.core.pages import (
    AnyFeature,
    FeatureCollection,
    FeaturesPage,
    GeoJSONResponse,
)
from gis_service.core.uploads import new_upload_folder
from layers.io import editing, export, importing, templates
from layers.io.schemas import FeatureUpdate, ImportReport

router = APIRouter(prefix="/townships/{township}/layers", tags=["layers"])
schema_router = APIRouter(prefix="/layers", tags=["layers"])


def _upload_path(
    file: Annotated[UploadFile, File()], settings: SettingsDep
) -> Iterator[Path]:
    """The uploaded file on disk (GDAL reads paths), removed after the request."""
    folder = new_upload_folder(settings.limits)
    name = Path(file.filename or "").name  # "." or ".." name no file (was a 500)
    path = folder / (name if name not in ("", ".", "..") else "upload")
    try:
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


UploadDep = Annotated[Path, Depends(_upload_path)]


def _filters(
    grid: Annotated[str | None, Query(description="grid code (its subtree)")] = None,
    tag: Annotated[str | None, Query(description="household tag, e.g. 低保")] = None,
    village: str | None = None,
    cadre: Annotated[str | None, Query(description="cadre code")] = None,
    level: str | None = None,
    parent: Annotated[str | None, Query(description="parent grid code")] = None,
    role: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    severity: str | None = None,
    holder: Annotated[str | None, Query(description="holder household code")] = None,
) -> dict[str, str]:
    """Attribute filters given in the query (each layer accepts some of them)."""
    given = {
        "grid": grid,
        "tag": tag,
        "village": village,
        "cadre": cadre,
        "level": level,
        "parent": parent,
        "role": role,
        "status": status,
        "kind": kind,
        "severity": severity,
        "holder": holder,
    }
    return {k: v for k, v in given.items() if v is not None}


FiltersDep = Annotated[dict[str, str], Depends(_filters)]


@router.post("/{layer}/import", response_model=ImportReport, responses=jobs.ACCEPTED)
def import_layer(
    session: SessionDep,
    settings: SettingsDep,
    township: TownshipDep,
    layer: str,
    path: UploadDep,
    crs: Annotated[
        str | None,
        Form(
            description="the file's CRS when it declares none (CSV/XLSX never do): "
            "EPSG:4326, EPSG:4490, EPSG:4491-4554 (CGCS2000 Gauss-Krüger) or gcj02"
        ),
    ] = None,
    repair: Annotated[bool, Form()] = False,
    dry_run: Annotated[bool, Form()] = False,
    encoding: Annotated[
        str | None, Form(description="e.g. GBK for old shapefiles")
    ] = None,
    source_layer: Annotated[
        str | None,
        Form(alias="layer", description="GeoPackage layer or workbook sheet"),
    ] = None,
    field_map: Annotated[
        list[str] | None,
        Form(
            description="TARGET=SOURCE (repeat the field, or separate by newlines) "
            'or a JSON object {"parent_code": "parent_id"}: read field TARGET from '
            "the file's column SOURCE"
        ),
    ] = None,
    force: Annotated[
        bool,
        Form(description="import even when the data lies far from the township"),
    ] = False,
    background: jobs.AsyncDep = False,
) -> Any:
    """Import a GeoJSON, GeoPackage, zipped Shapefile, CSV or XLSX (all or nothing)."""
    if background:
        options = {"crs": crs, "repair": repair, "dry_run": dry_run,
                   "encoding": encoding, "source_layer": source_layer,
                   "field_map": parse_field_map(field_map), "force": force}  # fmt: skip
        return jobs.accept(
            session,
            kind="import",
            township=township,
            params={"layer": layer, **options},
            upload=path.read_bytes(),
            upload_name=path.name,
        )
    return importing.import_file(
        session,
        township=township,
        layer=layer,
        path=path,
        filename=path.name,
        crs=crs,
        repair=repair,
        dry_run=dry_run,
        encoding=encoding,
        source_layer=source_layer,
        field_map=parse_field_map(field_map),
        force=force,
        limits=settings.limits,
    )


# GeoJSON routes return the body as built (a layer page may hold thousands of
# features); response_model describes it in /openapi.json, tests validate it.
@router.get(
    "/{layer}/items",
    response_class=GeoJSONResponse,
    response_model=FeaturesPage,
)
def list_items(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    layer: str,
    bbox: BBoxDep,
    page: PageDep,
    filters: FiltersDep,
    unmask: UnmaskDep,
) -> GeoJSONResponse:
    """Features as a GeoJSON FeatureCollection (bbox, attribute filters, paging)."""
    body = editing.list_features(
        session,
        township=township,
        layer=layer,
        bbox=bbox,
        filters=filters,
        limit=page.limit,
        offset=page.offset,
        url=str(request.url),
        unmask=unmask,
    )
    return GeoJSONResponse(body)


@router.get(
    "/{layer}/items/{code}", response_class=GeoJSONResponse, response_model=AnyFeature
)
def get_item(
    session: SessionDep,
    township: TownshipDep,
    layer: str,
    code: str,
    unmask: UnmaskDep,
) -> GeoJSONResponse:
    """One feature by its code (contract number for pasture parcels)."""
    body = editing.get_feature(
        session, township=township, layer=layer, code=code, unmask=unmask
    )
    return GeoJSONResponse(body)


@router.patch(
    "/{layer}/items/{code}", response_class=GeoJSONResponse, response_model=AnyFeature
)
def patch_item(
    session: SessionDep,
    user: CurrentUser,
    township: TownshipDep,
    layer: str,
    code: str,
    update: FeatureUpdate,
) -> GeoJSONResponse:
    """Change properties and/or the geometry, validated like an import.

    Each role may change only some fields (a cadre never moves a household).
    """
    check_patch(
        user, layer, [*update.properties, *update.model_fields_set - {"properties"}]
    )
    body = editing.patch_feature(
        session,
        township=township,
        layer=layer,
        code=code,
        properties=update.properties,
        geometry=update.geometry.model_dump() if update.geometry else None,
        geometry_given="geometry" in update.model_fields_set,
    )
    return GeoJSONResponse(body)


@router.delete("/{layer}/items/{code}", status_code=204)
def delete_item(
    session: SessionDep, township: TownshipDep, layer: str, code: str
) -> Response:
    """Delete one feature (409 while other rows still reference it)."""
    editing.delete_feature(session, township=township, layer=layer, code=code)
    return Response(status_code=204)


@router.get(
    "/{layer}/export",
    response_class=GeoJSONResponse,
    response_model=FeatureCollection,
    responses={
        200: {
            "description": "the layer as a file (Content-Disposition names it)",
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in ("application/geopackage+sqlite3", "application/zip")
            },
        }
    },
)
def export_items(
    session: SessionDep,
    township: TownshipDep,
    layer: str,
    bbox: BBoxDep,
    filters: FiltersDep,
    unmask: UnmaskDep,
    fmt: Annotated[
        str, Query(alias="format", description="geojson|gpkg|shp (ledgers: xlsx)")
    ] = "geojson",
    crs: Annotated[
        str | None,
        Query(description="CRS of a GeoPackage/Shapefile, e.g. EPSG:4490"),
    ] = None,
) -> Response:
    """The layer, or what bbox and filters select, as a file (EPSG:4326)."""
    out = export.export_layer(
        session, township=township, layer=layer, fmt=fmt, filters=filters, bbox=bbox,
        crs=crs, unmask=unmask,
    )  # fmt: skip
    disposition = f'attachment; filename="{out.filename}"'
    return Response(
        out.content,
        media_type=out.media_type,
        headers={"Content-Disposition": disposition},
    )


@schema_router.get(
    "/{layer}/schema",
    response_class=Response,
    responses={
        200: {
            "description": "JSON Schema of the layer's columns",
            "content": {"application/schema+json": {"schema": {"type": "object"}}},
        }
    },
)
def layer_schema(layer: str) -> JSONResponse:
    """The layer's columns as JSON Schema: types, required, allowed values, aliases."""
    return JSONResponse(
        templates.json_schema(layer), media_type="application/schema+json"
    )


@schema_router.get(
    "/{layer}/template",
    response_class=Response,
    responses={
        200: {
            "description": "a template to fill in (Content-Disposition names it)",
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in (
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "text/csv",
                )
            },
        }
    },
)
def layer_template(
    layer: str,
    fmt: Annotated[str, Query(alias="format", pattern="^(xlsx|csv)$")] = "xlsx",
) -> Response:
    """A file to fill in: Chinese and English headers, drop-downs, an example row."""
    if fmt == "csv":
        content, media = templates.template_csv(layer), "text/csv; charset=utf-8"
    else:
        content = templates.template_xlsx(layer)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"{layer}-template.{fmt}"
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
