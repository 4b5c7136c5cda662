"""Export a layer as GeoJSON, GeoPackage or zipped Shapefile (for QGIS users).

Everything is EPSG:4326 (the .prj and GeoPackage srs say so), text is UTF-8 (the
shapefile ships a .cpg), personal data is masked unless ``unmask`` (the role may
and asked: then the audit log names the rows, as for a JSON read), and column
names are the ones
the importer reads back, so import -> export -> import changes nothing.
A GeoPackage types its fields (dates Date, timestamps DateTime, numbers Integer64
or Real); a shapefile has timestamps as ISO 8601 text (it cannot hold a time of day).
"""

from __future__ import annotations

import json
import logging
import tempfile
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

import geopandas as gpd
import pyogrio
import shapely

from gis_service.core.errors import InvalidInput
from layers.io import querying
from layers.io.outputs import Export, target_crs, typed_column
from layers.io.specs import LayerSpec, get_layer

logger = logging.getLogger(__name__)

FORMATS = {
    "geojson": ("application/geo+json", "geojson"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "shp": ("application/zip", "zip"),
}


# A field's kind -> its GeoPackage type (typed_column's kinds); others stay text.
_GPKG_KINDS = {"timestamp": "time", "date": "date", "int": "int", "float": "float"}
_SUGGESTED = {"geojson": "geojson", "gpkg": "gpkg", "shp": "shp.zip"}
SUFFIXES = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".zip": "shp",
            ".xlsx": "xlsx"}  # fmt: skip


def format_for_file(path: Path, fmt: str | None = None) -> str:
    """The export format for file ``path``: ``fmt`` if given, else from its suffix.

    Refuses a suffix that contradicts the format, so a GeoPackage is never written
    as GeoJSON into ``f.gpkg`` nor a zipped shapefile into ``f.shp`` (GIS tools
    then fail to open the file).
    """
    suffix = path.suffix.lower()
    stem = path.name.removesuffix(path.suffix).removesuffix(".shp")
    if suffix == ".shp":
        raise InvalidInput(
            f"a Shapefile is exported zipped: name the file {stem}.shp.zip "
            "(GDAL and QGIS open it as it is)",
            errors=[{"field": "out", "reason": "a zipped Shapefile ends in .zip"}],
        )
    implied = SUFFIXES.get(suffix)
    if fmt is None:
        if implied is None:
            raise InvalidInput(
                f"cannot tell the format from {path.name!r}: end it in .geojson, "
                ".gpkg or .shp.zip, or pass --format",
                errors=[{"field": "format", "reason": f"one of {', '.join(FORMATS)}"}],
            )
        return implied
    if implied is not None and implied != fmt:
        raise InvalidInput(
            f"{path.name!r} does not suit format {fmt!r}: name it "
            f"{stem}.{_SUGGESTED.get(fmt, '...')}",
            errors=[{"field": "out", "reason": f"suffix does not match {fmt}"}],
        )
    return fmt


def export_layer(
    session: Session,
    *,
    township: str,
    layer: str,
    fmt: str = "geojson",
    filters: dict[str, str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    crs: str | None = None,
    unmask: bool = False,
) -> Export:
    """The features of ``layer`` in ``township`` as one file of format ``fmt``.

    ``filters`` and ``bbox`` select as the list endpoint does (e.g. one grid's
    subtree, one tag); without them, the whole layer. The ledgers (visits,
    demands, disputes, coverage, uncovered) export as XLSX, GeoPackage or GeoJSON.
    ``crs`` reprojects a GeoPackage or Shapefile (GeoJSON stays EPSG:4326).
    ``unmask`` writes ID numbers and phones whole and an audit entry naming the
    rows exported (the caller has checked the role may; RLS keeps the scope).
    """
    from layers.io.ledgers import COLUMNS, export_ledger

    if layer in COLUMNS:
        return export_ledger(
            session, township=township, ledger=layer, fmt=fmt, crs=crs, unmask=unmask
        )
    spec = get_layer(layer)
    if fmt not in FORMATS:
        raise InvalidInput(
            f"format {fmt!r} is not one of {', '.join(FORMATS)}",
            errors=[{"field": "format", "reason": f"one of {', '.join(FORMATS)}"}],
        )
    where, params = querying.where_clause(spec, filters=filters or {}, bbox=bbox)
    params["t"] = township
    geometry = querying.GEOJSON if fmt == "geojson" else querying.WKB
    statement = querying.select(spec, where, geometry=geometry, paged=False)
    rows = [dict(r) for r in session.execute(statement, params).mappings()]
    media_type, suffix = FORMATS[fmt]
    name = f"{township}_{spec.name}.{suffix}"
    if fmt == "geojson":
        out = Export(_geojson(spec, rows, unmask), media_type, name)
    else:
        out = Export(_ogr(spec, rows, fmt, crs, unmask), media_type, name)
    if unmask:
        codes = [r[spec.key] for r in rows]
        querying.audit_unmasked(
            session, spec, township=township, codes=codes, export=fmt
        )
    return out


def _geojson(spec: LayerSpec, rows: list[dict[str, Any]], unmask: bool) -> bytes:
    features = []
    for row in rows:
        props = querying.properties(spec, row, unmask=unmask)
        props.pop("id", None)
        features.append(
            {
                "type": "Feature",
                "id": row[spec.key],
                "geometry": json.loads(row["geometry"]) if row["geometry"] else None,
                "properties": props,
            }
        )
    body = {"type": "FeatureCollection", "name": spec.name, "features": features}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _frame(
    spec: LayerSpec, rows: list[dict[str, Any]], short: bool, unmask: bool
) -> gpd.GeoDataFrame:
    """Rows as a GeoDataFrame: typed for a GeoPackage, short and textual if ``short``.

    A shapefile gets its short names and ISO text timestamps; a GeoPackage its
    dates, times and numbers typed (``typed_column``). Tags are comma-joined.
    """
    names = {f.name: f.export_name if short else f.name for f in spec.fields}
    records = []
    for row in rows:
        props = querying.properties(spec, row, unmask=unmask)
        props.pop("id", None)
        record = {}
        for key, value in props.items():
            if isinstance(value, list):
                value = ",".join(value)
            elif isinstance(value, datetime | date):
                value = value.isoformat()
            record[names.get(key, key)] = value
        records.append(record)
    columns = [names[f.name] for f in spec.fields] + list(spec.read_only)
    wkb = [None if r["geometry"] is None else bytes(r["geometry"]) for r in rows]
    geoms = shapely.from_wkb(wkb) if rows else []
    frame = gpd.GeoDataFrame(records, columns=columns, geometry=list(geoms), crs=4326)
    if not short:
        for f in spec.fields:
            if f.kind in _GPKG_KINDS:
                frame[f.name] = typed_column(list(frame[f.name]), _GPKG_KINDS[f.kind])
    return frame


def _geometry_type(spec: LayerSpec, frame: gpd.GeoDataFrame, fmt: str) -> str:
    """The OGR layer type: a mixed point/polygon layer is one type per file.

    A GeoPackage holds both (type ``Unknown``); a shapefile holds one, so a layer
    with points and polygons is refused rather than half written.
    """
    if spec.geometry_kind != "PointOrPolygon":
        return spec.geometry_kind
    kinds = set(frame.geometry.dropna().geom_type)
    if kinds <= {"Point"}:
        return "Point"
    if kinds <= {"MultiPolygon"}:
        return "MultiPolygon"
    if fmt == "gpkg":
        return "Unknown"
    raise InvalidInput(
        f"a shapefile holds one geometry type but these {spec.name} are points and "
        "polygons: export format=gpkg or geojson, or filter by one type",
        errors=[{"field": "format", "reason": "mixed points and polygons"}],
    )


def _ogr(
    spec: LayerSpec,
    rows: list[dict[str, Any]],
    fmt: str,
    crs: str | None = None,
    unmask: bool = False,
) -> bytes:
    """A GeoPackage, or a zipped shapefile with .cpg (UTF-8) and .prj."""
    frame = _frame(spec, rows, short=fmt == "shp", unmask=unmask)
    if crs:
        frame = frame.to_crs(target_crs(crs))
    kind = _geometry_type(spec, frame, fmt)
    with tempfile.TemporaryDirectory(prefix="gridgis-export-") as tmp:
        folder = Path(tmp)
        if fmt == "gpkg":
            path = folder / f"{spec.name}.gpkg"
            pyogrio.write_dataframe(
                frame,
                path,
                layer=spec.name,
                driver="GPKG",
                geometry_type=kind,
                use_arrow=True,
            )
            return path.read_bytes()
        path = folder / f"{spec.name}.shp"
        pyogrio.write_dataframe(
            frame,
            path,
            driver="ESRI Shapefile",
            encoding="UTF-8",
            geometry_type=kind,
        )
        out = folder / "out.zip"
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(folder.glob(f"{spec.name}.*")):
                archive.write(part, part.name)
        return out.read_bytes()
