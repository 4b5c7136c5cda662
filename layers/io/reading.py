"""Read the files townships have into a GeoDataFrame, whatever the format.

GeoJSON, GeoPackage (one layer, chosen when there are several), zipped or bare
ESRI Shapefile (attributes in the .cpg's encoding, or ``encoding`` such as GBK),
and CSV/XLSX tables with lon/lat columns or a WKT column. The frame keeps the
file's CRS (``None`` when the file has none) and its raw, untyped attributes;
validation and conversion happen later, vectorised.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import geopandas as gpd
import pyogrio
import shapely
from pyproj import CRS

from gis_service.core.charsets import encoding_advice
from gis_service.core.columns import header_keys, normalise
from gis_service.core.errors import InvalidInput, UnsupportedMedia
from gis_service.core.inputs import storable
from gis_service.core.settings import LimitSettings
from layers.io.archives import checked_members, extract_member
from layers.io.encodings import dbf_encoding
from layers.io.tables import read_table

# A 0-d object array: np.where into object arrays without tripping numpy's stubs.
NONE = np.array(None, dtype=object)

logger = logging.getLogger(__name__)

TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xls")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")
LON_NAMES = ("lon", "lng", "longitude", "x", "经度", "东经", "经度(°)", "x坐标")
LAT_NAMES = ("lat", "latitude", "y", "纬度", "北纬", "纬度(°)", "y坐标")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom")


@dataclass
class ReadResult:
    """A read file: features, declared CRS, and notes for the report."""

    frame: gpd.GeoDataFrame
    crs: CRS | None
    source_layer: str | None = None
    warnings: list[str] = field(default_factory=list)
    missing_coordinates: np.ndarray | None = None  # table rows lacking lon/lat
    has_geometry: bool = True  # False: a table without lon/lat or WKT columns
    # (feature, property) of GeoJSON strings holding an escaped NUL (\u0000),
    # which GDAL silently cuts short there
    nul_cells: list[tuple[int, str]] = field(default_factory=list)
    first_row: int | None = None  # tables: the first data row's number (header 1)


def read_features(
    path: Path,
    *,
    filename: str | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    limits: LimitSettings | None = None,
    columns: Mapping[str, str] | None = None,
) -> ReadResult:
    """Read ``path`` (named ``filename`` by the uploader) into raw features.

    ``columns`` maps fields to the file's headers (``lon``/``lat``/``wkt`` pick
    a table's coordinate columns; ``layer`` is also a workbook's sheet).

    The caps in ``limits`` are checked before the work they bound: an archive's
    central directory before inflating, a layer's feature count before reading.
    """
    limits = limits or LimitSettings()
    name = (filename or path.name).lower()
    suffix = Path(name).suffix
    if suffix in TABLE_SUFFIXES:
        read = _read_table(path, suffix, encoding, columns or {}, layer)
    elif suffix == ".zip":
        # Next to the upload (a private folder) when it is one, else in /tmp.
        private = path.parent.name.startswith("gridgis-upload-")
        with tempfile.TemporaryDirectory(
            prefix="gridgis-zip-", dir=path.parent if private else None
        ) as tmp:
            shp = _unzip_shapefile(path, Path(tmp), limits)
            read = _read_vector(shp, layer, encoding, limits)
    elif suffix in VECTOR_SUFFIXES:
        read = _read_vector(path, layer, encoding, limits)
        if suffix in (".geojson", ".json"):
            read.nul_cells = _json_nul_cells(path)
    else:
        raise _unsupported(filename or path.name, suffix)
    check_size(read.frame, limits)
    return read


def _too_many(count: int, limits: LimitSettings) -> InvalidInput:
    return InvalidInput(
        f"the file has {count} features; at most {limits.max_features} are "
        "imported at once (split the file)",
        errors=[
            {
                "field": "file",
                "reason": "too many features",
                "limit": limits.max_features,
                "value": count,
            }
        ],
    )


def check_size(frame: gpd.GeoDataFrame, limits: LimitSettings) -> None:
    """422 naming the limit and the value: too many features or vertices."""
    if len(frame) > limits.max_features:
        raise _too_many(len(frame), limits)
    if not len(frame):
        return
    vertices = shapely.get_num_coordinates(np.asarray(frame.geometry.values))
    worst = int(np.argmax(vertices))
    if int(vertices[worst]) > limits.max_vertices:
        raise InvalidInput(
            f"feature {worst} has {int(vertices[worst])} vertices; the limit is "
            f"{limits.max_vertices} per feature (simplify it)",
            errors=[
                {
                    "feature": worst,
                    "field": "geometry",
                    "reason": "too many vertices",
                    "limit": limits.max_vertices,
                    "value": int(vertices[worst]),
                }
            ],
        )


def _unsupported(name: str, suffix: str) -> UnsupportedMedia:
    return UnsupportedMedia(
        f"cannot read {name!r}: expected GeoJSON, GeoPackage, "
        "a zipped Shapefile, CSV or XLSX",
        errors=[
            {"field": "file", "reason": f"unsupported suffix {suffix or '(none)'}"}
        ],
    )


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _json_nul_cells(path: Path) -> list[tuple[int, str]]:
    r"""Where a GeoJSON file's string properties hold ``\u0000``.

    A byte search first: only a file that has the escape at all is parsed.
    """
    data = path.read_bytes()
    if b"\\u0000" not in data and not _SURROGATE_ESCAPE.search(data):
        return []
    try:
        features = json.loads(data).get("features") or []
    except (ValueError, AttributeError):
        return []  # GDAL has read it; a stranger layout is left to GDAL
    return [
        (i, name)
        for i, feature in enumerate(features)
        for name, value in ((feature or {}).get("properties") or {}).items()
        if isinstance(value, str) and not storable(value)
    ]


def _unzip_shapefile(path: Path, into: Path, limits: LimitSettings) -> Path:
    """Extract a zipped shapefile safely and return its .shp."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                m
                for m in checked_members(archive, limits)
                if not m.is_dir() and not m.filename.startswith("__MACOSX")
            ]
            shps = [m for m in members if m.filename.lower().endswith(".shp")]
            if len(shps) != 1:
                raise InvalidInput(
                    f"the zip holds {len(shps)} .shp files; expected exactly one",
                    errors=[{"field": "file", "reason": "one shapefile per zip"}],
                )
            stem = shps[0].filename[:-4]
            for member in members:
                if member.filename.rsplit(".", 1)[0] != stem:
                    continue
                extract_member(archive, member, into / Path(member.filename).name)
            return into / Path(shps[0].filename).name
    except zipfile.BadZipFile:
        raise UnsupportedMedia(
            "the upload is not a readable zip archive",
            errors=[{"field": "file", "reason": "bad zip"}],
        ) from None


def _read_vector(
    path: Path, layer: str | None, encoding: str | None, limits: LimitSettings
) -> ReadResult:
    """GeoJSON, GeoPackage or Shapefile through pyogrio."""
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # GDAL raises many types for unreadable input
        raise UnsupportedMedia(
            f"cannot read the file as vector data: {_short(exc)}",
            errors=[{"field": "file", "reason": "unreadable"}],
        ) from None
    names = [str(n) for n in layers[:, 0]]
    if layer is None and len(names) > 1:
        raise InvalidInput(
            f"the file has {len(names)} layers ({', '.join(names)}); choose one "
            "with layer=NAME",
            errors=[{"field": "layer", "reason": f"one of {', '.join(names)}"}],
        )
    if layer is not None and layer not in names:
        raise InvalidInput(
            f"the file has no layer {layer!r}; it has {', '.join(names)}",
            errors=[{"field": "layer", "reason": f"one of {', '.join(names)}"}],
        )
    chosen = layer or names[0]
    count = _feature_count(path, chosen)
    if count > limits.max_features:
        raise _too_many(count, limits)
    warnings: list[str] = []
    if encoding is None and path.suffix.lower() == ".shp":
        encoding, warnings = dbf_encoding(path)
    kwargs = {"encoding": encoding} if encoding else {}
    try:
        # Through Arrow: GDAL hands over whole columns (~0.2 s instead of ~0.4 s
        # for 100 000 households).
        frame = pyogrio.read_dataframe(path, layer=chosen, use_arrow=True, **kwargs)
    except (LookupError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"cannot decode the attributes with encoding {encoding!r}: {_short(exc)}",
            errors=[{"field": "encoding", "reason": "wrong or unknown encoding"}],
        ) from None
    except Exception as exc:
        if "wrapping" in str(exc).lower() or "utf" in str(exc).lower():
            raise encoding_advice("the attributes") from None  # Arrow met bad UTF-8
        raise UnsupportedMedia(
            f"cannot read layer {chosen!r}: {_short(exc)}",
            errors=[{"field": "file", "reason": "unreadable"}],
        ) from None
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=[None] * len(frame))
    crs = CRS.from_user_input(frame.crs) if frame.crs is not None else None
    frame = frame.set_crs(None, allow_override=True)
    return ReadResult(frame, crs, source_layer=chosen, warnings=warnings)


def _feature_count(path: Path, layer: str) -> int:
    """The layer's feature count from its header (-1 when the driver cannot tell)."""
    try:
        return int(pyogrio.read_info(path, layer=layer)["features"])
    except Exception:  # unreadable here: read_dataframe reports it properly
        return -1


def _read_table(
    path: Path,
    suffix: str,
    encoding: str | None,
    columns: Mapping[str, str],
    sheet: str | None,
) -> ReadResult:
    """CSV/XLSX with lon/lat columns or a WKT column; all cells read as text."""
    table, warnings, first_row = read_table(path, suffix, encoding, sheet)
    lookup: dict[str, object] = {}
    for c in table.columns:
        for key in header_keys(c):
            lookup.setdefault(key, c)
    lon_col, lat_col, wkt_col = (
        _pick(lookup, columns.get(target), names)
        for target, names in (
            ("lon", LON_NAMES),
            ("lat", LAT_NAMES),
            ("wkt", WKT_NAMES),
        )
    )
    missing = None
    if lon_col is not None and lat_col is not None:
        lon = pd.to_numeric(table[lon_col], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(table[lat_col], errors="coerce").to_numpy(float)
        blank = table[lon_col].isna().to_numpy() | table[lat_col].isna().to_numpy()
        bad_text = (np.isnan(lon) | np.isnan(lat)) & ~blank
        geoms = shapely.points(lon, lat)
        geoms[blank | bad_text] = None
        missing = np.where(blank, "missing lon/lat", NONE)
        missing[bad_text] = "lon/lat is not a number"
        table = table.drop(columns=[lon_col, lat_col])
    elif wkt_col is not None:
        text = table[wkt_col].to_numpy(object)
        geoms = shapely.from_wkt(text, on_invalid="ignore")
        missing = np.where(pd.isna(text), "missing WKT", NONE)
        unreadable = pd.notna(text) & pd.isna(geoms)
        missing[unreadable] = "unreadable WKT"
        table = table.drop(columns=[wkt_col])
    else:
        geoms = np.full(len(table), None, dtype=object)
        missing = np.full(len(table), "the table has no lon/lat or WKT column", object)
    frame = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geoms, index=table.index))
    has_geometry = (lon_col is not None and lat_col is not None) or wkt_col is not None
    return ReadResult(
        frame,
        None,
        missing_coordinates=missing,
        has_geometry=has_geometry,
        first_row=first_row,
        warnings=warnings,
    )


def _pick(
    lookup: dict[str, object], given: str | None, names: tuple[str, ...]
) -> object | None:
    """The column a mapping names (else a 422), or the first known name present."""
    if given is not None:
        column = lookup.get(normalise(given))
        if column is None:
            raise InvalidInput(
                f"--map ...={given}: the table has no column {given!r}",
                errors=[{"field": "field_map", "reason": f"no column {given!r}"}],
            )
        return column
    return next((lookup[n] for n in names if n in lookup), None)


def _short(exc: BaseException) -> str:
    """A one-line library message (no paths or SQL)."""
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
