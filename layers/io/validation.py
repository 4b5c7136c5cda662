"""Vectorised checks of read features: geometry, coordinates, attributes, codes.

Each problem is reported per feature as ``{"feature": index, "code": external
code, "field": ..., "reason": ...}``; the checks that need the database (polygon
validity by ``ST_IsValidReason``, references by code) run in SQL on the staging
table, in ``importing.py``. Nothing here loops over rows issuing statements.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

import shapely

from gis_service.core.inputs import (
    CHINA_UTC_OFFSET,
    MAX_YEAR,
    MIN_YEAR,
    UNSTORABLE_REASON,
    find_unstorable,
    storable,
)
from layers.io.crs import parse_crs, resolve_crs, to_wgs84
from layers.io.reading import NONE, ReadResult
from layers.io.specs import Field, LayerSpec

logger = logging.getLogger(__name__)

# Mainland China, Hainan and the South China Sea islands, generously.
CHINA = (73.4, 3.5, 135.1, 53.6)
PRECISION = 7  # decimal places kept (~1 cm); exports render the same digits
TAG_SPLIT = re.compile(r"\s*[,;，；、|]\s*")
TZ_SUFFIX = re.compile(r"(Z|[+-]\d\d:?\d\d)$")
INT_MAX = 2**31 - 1
LOCAL_UTC_OFFSET = pd.Timedelta(CHINA_UTC_OFFSET)  # naive times in data are UTC+8
ACCEPTED_TYPES = {
    "Point": ("Point", "MultiPoint"),
    "MultiPolygon": ("Polygon", "MultiPolygon"),
    "MultiLineString": ("LineString", "MultiLineString"),
    "PointOrPolygon": ("Point", "MultiPoint", "Polygon", "MultiPolygon"),
}
POLYGONAL = ("MultiPolygon", "PointOrPolygon")
TRUE = {"true", "t", "1", "yes", "y", "是"}
FALSE = {"false", "f", "0", "no", "n", "否"}


@dataclass
class Prepared:
    """Typed rows ready to stage, what the file contained, and what is wrong."""

    rows: pd.DataFrame  # _idx, key, present fields, <personal>__keep, geom
    present: list[str]
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    crs: str = "EPSG:4326"


class _Report:
    """Collects per-feature errors."""

    def __init__(self, codes: NDArray[np.object_]) -> None:
        self.codes = codes
        self.errors: list[dict[str, Any]] = []

    def add(self, mask: NDArray[np.bool_], name: str, reasons: Any) -> None:
        """Record a reason (a string, a sequence, or ``f(i)``) for rows in ``mask``.

        Reasons are formatted only for the offending rows, so a clean file of
        100 000 features costs one vectorised comparison per check.
        """
        for i in np.flatnonzero(mask):
            if isinstance(reasons, str):
                reason = reasons
            elif callable(reasons):
                reason = reasons(i)
            else:
                reason = reasons[i]
            code = self.codes[i]
            self.errors.append(
                {
                    "feature": int(i),
                    "code": None if pd.isna(code) else str(code),
                    "field": name,
                    "reason": reason,
                }
            )


def prepare(read: ReadResult, spec: LayerSpec, *, crs: str | None = None) -> Prepared:
    """Check and type every feature of ``read`` for layer ``spec``."""
    frame, warnings = _canonical_columns(read.frame, spec)
    n = len(frame)
    key = (
        _texts(frame[spec.key]) if spec.key in frame else np.full(n, None, dtype=object)
    )
    report = _Report(key)
    for i, name in read.nul_cells:  # GeoJSON: GDAL cut these strings short
        report.add(np.arange(n) == i, name, NUL_REASON)
    rows = pd.DataFrame({"_idx": np.arange(n)})
    geoms, geom_warnings, crs_label = _geometries(read, spec, report, crs)
    warnings += geom_warnings
    rows[spec.key] = key
    present = [f.name for f in spec.fields if f.name in frame.columns]
    for f in spec.fields:
        if f.name in frame.columns:
            values, keep = _coerce(frame[f.name], f, report)
            rows[f.name] = values
            if f.personal:
                rows[f"{f.name}__keep"] = keep
    missing_key = pd.isna(key)
    if spec.key not in frame.columns:
        report.add(np.ones(n, bool), spec.key, f"the file has no {spec.key} column")
    dup = pd.Series(key).duplicated(keep="first").to_numpy() & ~missing_key
    if dup.any():
        first = pd.Series(np.arange(n)).groupby(pd.Series(key)).transform("first")
        report.add(
            dup,
            spec.key,
            lambda i: f"duplicate {spec.key} (first at feature {first[i]})",
        )
    rows["geom"] = geoms
    return Prepared(rows, present, report.errors, warnings, crs_label)


def _canonical_columns(
    frame: pd.DataFrame, spec: LayerSpec
) -> tuple[pd.DataFrame, list[str]]:
    """Rename file columns to field names (case-insensitive, aliases, shp names)."""
    names: dict[str, str] = {}
    for f in spec.fields:
        for alias in (f.name, f.export_name, *f.aliases):
            names.setdefault(alias.lower(), f.name)
    rename: dict[str, str] = {}
    ignored = []
    geometry_name = frame.geometry.name
    for column in frame.columns:
        if column == geometry_name:
            continue
        target = names.get(str(column).strip().lower())
        if target is not None and target not in rename.values():
            rename[column] = target
        elif str(column).lower() not in (*spec.read_only, "id", "fid"):
            ignored.append(str(column))
    warnings = [f"ignored columns not in layer {spec.name}: {', '.join(ignored)}"]
    out = pd.DataFrame(frame.drop(columns=[geometry_name])).rename(columns=rename)
    return out[list(rename.values())], warnings if ignored else []


def _geometries(
    read: ReadResult, spec: LayerSpec, report: _Report, crs: str | None
) -> tuple[NDArray[np.object_], list[str], str]:
    """Check, convert to EPSG:4326, promote to the layer's type, round to 1e-7°."""
    geoms = np.asarray(read.frame.geometry.values, dtype=object).copy()
    n = len(geoms)
    warnings: list[str] = []
    missing = pd.isna(geoms)
    empty = ~missing & shapely.is_empty(np.where(missing, NONE, geoms))
    if spec.geometry_required and read.has_geometry:
        reasons = read.missing_coordinates
        if reasons is not None:
            report.add(missing, "geometry", [r or "missing geometry" for r in reasons])
        else:
            report.add(missing, "geometry", "missing geometry")
        report.add(empty, "geometry", "empty geometry")
    elif read.missing_coordinates is not None:
        unreadable = np.isin(
            read.missing_coordinates, ("lon/lat is not a number", "unreadable WKT")
        )
        report.add(unreadable, "geometry", read.missing_coordinates)
    geoms[missing | empty] = None
    present = ~(missing | empty)
    kinds = shapely.get_type_id(geoms)
    names = np.array(
        [
            "Point",
            "LineString",
            "LinearRing",
            "Polygon",
            "MultiPoint",
            "MultiLineString",
            "MultiPolygon",
            "GeometryCollection",
        ],
        dtype=object,
    )
    type_names = np.where(kinds >= 0, names[np.clip(kinds, 0, 7)], NONE)
    accepted = ACCEPTED_TYPES[spec.geometry_kind]
    wrong = present & ~np.isin(type_names, accepted)
    multi_point = present & (type_names == "MultiPoint")
    wrong |= multi_point & (shapely.get_num_geometries(geoms) != 1)
    report.add(
        wrong,
        "geometry",
        lambda i: f"expected {' or '.join(accepted)}, got {type_names[i]}",
    )
    zm = present & (shapely.has_z(geoms) | shapely.has_m(geoms))
    if zm.any():
        warnings.append(f"{int(zm.sum())} features had Z/M values; they were dropped")
        geoms[zm] = shapely.force_2d(geoms[zm])
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad_coord = np.zeros(n, bool)
    np.logical_or.at(bad_coord, index, ~np.isfinite(coords).all(axis=1))
    report.add(present & bad_coord, "geometry", "coordinates are NaN or infinite")
    good = present & ~wrong & ~bad_coord
    geoms[~good] = None
    file_crs, option = read.crs, parse_crs(crs)
    source, crs_warnings = resolve_crs(file_crs, option, shapely.bounds(geoms[good]))
    warnings += crs_warnings
    geoms[good] = to_wgs84(geoms[good], source)
    _check_extent(geoms, good, report)
    geoms[multi_point] = shapely.get_geometry(geoms[multi_point], 0)
    geoms = _promote(geoms, spec.geometry_kind)
    if spec.geometry_kind in POLYGONAL:  # RFC 7946 winding, whatever the source
        geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    coords = shapely.get_coordinates(geoms)
    if not np.array_equal(coords, np.round(coords, PRECISION)):
        geoms = shapely.transform(geoms, lambda c: np.round(c, PRECISION))
    label = source if isinstance(source, str) else _crs_label(source)
    return geoms, warnings, label


def _crs_label(crs: Any) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else str(crs.name)


def _check_extent(
    geoms: NDArray[np.object_], good: NDArray[np.bool_], report: _Report
) -> None:
    """Coordinates must fall in China; say so when lon/lat look swapped."""
    bounds = shapely.bounds(geoms)
    x0, y0, x1, y1 = CHINA
    with np.errstate(invalid="ignore"):
        inside = (bounds[:, 0] >= x0) & (bounds[:, 2] <= x1)
        inside &= (bounds[:, 1] >= y0) & (bounds[:, 3] <= y1)
        swapped = (bounds[:, 1] >= x0) & (bounds[:, 3] <= x1)
        swapped &= (bounds[:, 0] >= y0) & (bounds[:, 2] <= y1)
    outside = good & ~inside

    def reason(i: int) -> str:
        b = bounds[i]
        if swapped[i]:
            return (
                f"longitude/latitude look swapped: got ({b[0]:.6f}, {b[1]:.6f}); "
                f"expected longitude first, e.g. ({b[1]:.6f}, {b[0]:.6f})"
            )
        return (
            f"outside China's extent (lon {x0}..{x1}, lat {y0}..{y1}): "
            f"bounds ({b[0]:.6f}, {b[1]:.6f}, {b[2]:.6f}, {b[3]:.6f})"
        )

    report.add(outside, "geometry", reason)
    geoms[outside] = None


def _promote(geoms: NDArray[np.object_], kind: str) -> NDArray[np.object_]:
    """Polygon -> MultiPolygon and LineString -> MultiLineString, vectorised."""
    single = {"MultiPolygon": 3, "PointOrPolygon": 3, "MultiLineString": 1}.get(kind)
    if single is None:
        return geoms
    mask = shapely.get_type_id(geoms) == single
    if mask.any():
        make = shapely.multipolygons if single == 3 else shapely.multilinestrings
        geoms[mask] = make(geoms[mask], indices=np.arange(int(mask.sum())))
    return geoms


def _text(value: Any) -> str | None:
    """A cell as stripped text; integral floats lose their '.0'."""
    if (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and np.isnan(value))
    ):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    out = str(value).strip()
    return out or None


def _texts(column: pd.Series) -> NDArray[np.object_]:
    """A column as stripped text or None.

    String columns (what pyogrio's Arrow reader gives) are trimmed by Arrow;
    anything else (numbers in a text field, mixed cells) cell by cell.
    """
    if isinstance(column.dtype, pd.StringDtype):
        trimmed = pc.utf8_trim_whitespace(pa.array(column, from_pandas=True))
        blank = pc.fill_null(pc.equal(trimmed, ""), True)
        out: NDArray[np.object_] = pc.if_else(blank, None, trimmed).to_numpy(
            zero_copy_only=False
        )
        return out
    return np.array(
        [
            (v.strip() or None) if type(v) is str else _text(v)
            for v in column.to_numpy(dtype=object)
        ],
        dtype=object,
    )


def _coerce(
    column: pd.Series, f: Field, report: _Report
) -> tuple[NDArray[np.object_], NDArray[np.bool_]]:
    """Type one column; record wrong types, out-of-range and unknown values."""
    n = len(column)
    keep = np.zeros(n, bool)
    if f.kind == "tags":
        return _coerce_tags(column.to_numpy(object), f, report), keep
    if f.kind in ("date", "timestamp"):
        return _coerce_time(column.to_numpy(object), f, report), keep
    if f.kind in ("int", "float"):
        return _coerce_number(column, f, report), keep
    text = _texts(column)
    blank = pd.isna(text)
    if f.required:
        report.add(blank, f.name, f"{f.name} is required")
    _refuse_nul(text, f.name, report)
    if f.kind == "bool":
        low = pd.Series(text, dtype=object).str.lower()
        values = np.where(low.isin(TRUE), True, np.where(low.isin(FALSE), False, NONE))
        bad = ~blank & pd.isna(values)
        report.add(bad, f.name, lambda i: f"expected true/false, got {text[i]!r}")
        return values.astype(object), keep
    if f.kind == "enum":
        if f.value_aliases:  # e.g. 滑坡 -> landslide
            words = dict(f.value_aliases)
            text = np.array([words.get(t, t) for t in text], dtype=object)
        bad = ~blank & ~np.isin(text, f.values)
        allowed = ", ".join(f.values)
        report.add(bad, f.name, lambda i: f"{text[i]!r} is not one of {allowed}")
    if f.max_len is not None:
        lengths = np.array([len(t) if t else 0 for t in text])
        report.add(
            lengths > f.max_len,
            f.name,
            lambda i: f"longer than {f.max_len} characters ({int(lengths[i])})",
        )
    if f.personal:
        keep = np.array([t is not None and "*" in t for t in text], dtype=bool)
        text[keep] = None  # a masked value (from an export) keeps the stored one
    return text, keep


NUL_REASON = UNSTORABLE_REASON


def _refuse_nul(text: NDArray[np.object_], name: str, report: _Report) -> None:
    """Name the cells PostgreSQL cannot store (CSV/XLSX keep a NUL; text cannot)."""
    if storable("".join(text[~pd.isna(text)])):  # one scan for the usual case
        return
    bad = find_unstorable(list(text))
    if bad:
        report.add(np.isin(np.arange(len(text)), bad), name, NUL_REASON)


def _coerce_number(column: pd.Series, f: Field, report: _Report) -> NDArray[np.object_]:
    """Integers and floats; a text cell that is no number is named."""
    if pd.api.types.is_numeric_dtype(column.dtype):
        numbers = column.to_numpy(float)
        blank = np.isnan(numbers)
        text = column.to_numpy(object)
    else:
        text = _texts(column)
        blank = pd.isna(text)
        numbers = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(float)
    if f.required:
        report.add(blank, f.name, f"{f.name} is required")
    bad = ~blank & ~np.isfinite(numbers)
    report.add(bad, f.name, lambda i: f"expected a number, got {text[i]!r}")
    ok = ~blank & ~bad
    if f.kind == "int":
        frac = ok & (np.mod(np.where(ok, numbers, 0), 1) != 0)
        report.add(frac, f.name, lambda i: f"expected a whole number, got {text[i]}")
        ok &= ~frac
        # the column is a PostgreSQL integer: a larger value failed the COPY (500)
        big = ok & (np.abs(np.where(ok, numbers, 0)) > INT_MAX)
        report.add(big, f.name, lambda i: f"must be at most {INT_MAX}, got {text[i]}")
        ok &= ~big
    if f.minimum is not None:
        low = ok & (numbers <= f.minimum if f.exclusive_min else numbers < f.minimum)
        sign = ">" if f.exclusive_min else ">="
        report.add(
            low, f.name, lambda i: f"must be {sign} {f.minimum:g}, got {text[i]}"
        )
    if f.maximum is not None:
        high = ok & (numbers > f.maximum)
        report.add(high, f.name, lambda i: f"must be <= {f.maximum:g}, got {text[i]}")
    if f.kind == "int":
        return np.where(ok, np.where(ok, numbers, 0).astype(np.int64), NONE)
    return np.where(ok, numbers, NONE)


def _coerce_tags(
    raw: NDArray[np.object_], f: Field, report: _Report
) -> NDArray[np.object_]:
    """Tags from a JSON array, a list, or text separated by , ; 、 |."""
    out = np.empty(len(raw), dtype=object)
    allowed = set(f.values)
    unknown: dict[int, list[str]] = {}
    # Few distinct texts repeat: parse each once, then spread by position.
    is_text = np.fromiter((isinstance(v, str) for v in raw), bool, len(raw))
    codes, uniques = pd.factorize(raw[is_text])
    parsed = [_split_tags(v, allowed) for v in uniques]
    kept = np.empty(len(parsed), dtype=object)  # element-wise: lists stay lists
    for k, (known, _) in enumerate(parsed):
        kept[k] = known  # shared, read-only lists
    text_rows = np.flatnonzero(is_text)
    out[text_rows] = kept[codes]
    has_bad = np.array([bool(p[1]) for p in parsed], dtype=bool)
    bad_rows = np.flatnonzero(has_bad[codes] if has_bad.any() else [])
    for row, code in zip(text_rows[bad_rows], codes[bad_rows], strict=True):
        unknown[int(row)] = parsed[code][1]
    for i in np.flatnonzero(~is_text).tolist():
        known, other = _split_tags(raw[i], allowed)
        out[i] = known
        if other:
            unknown[i] = other
    expected = ", ".join(f.values)
    report.add(
        np.isin(np.arange(len(raw)), list(unknown)),
        f.name,
        lambda i: (
            f"unknown tag(s) {', '.join(unknown[i])}; expected some of {expected}"
        ),
    )
    return out


def _split_tags(value: Any, allowed: set[str]) -> tuple[list[str], list[str]]:
    """(known tags without repeats, unknown tags) of one cell."""
    tags = _tag_list(value)
    return (
        list(dict.fromkeys(t for t in tags if t in allowed)),
        [t for t in tags if t not in allowed],
    )


def _tag_list(value: Any) -> list[str]:
    if (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and np.isnan(value))
    ):
        return []
    if isinstance(value, list | tuple | np.ndarray):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            return [str(v).strip() for v in json.loads(text) if str(v).strip()]
        except (json.JSONDecodeError, TypeError):
            pass
    return [t for t in TAG_SPLIT.split(text) if t]


def _coerce_time(
    raw: NDArray[np.object_], f: Field, report: _Report
) -> NDArray[np.object_]:
    """Dates and timestamps; naive times are taken as China time (UTC+8)."""
    series = pd.Series(raw, dtype=object)
    blank = series.isna().to_numpy() | (series.astype(str).str.strip() == "").to_numpy()
    text = series.where(~blank, None).astype(str).str.strip()
    parsed = pd.to_datetime(
        text.where(~blank), errors="coerce", utc=True, format="mixed"
    )
    bad = ~blank & parsed.isna().to_numpy()
    what = "a date (YYYY-MM-DD)" if f.kind == "date" else "a date-time (ISO 8601)"
    report.add(bad, f.name, lambda i: f"expected {what}, got {text[i]!r}")
    # year 0 failed the COPY and year 10000 every later read (Python's datetime)
    years = parsed.dt.year.to_numpy(dtype=float, na_value=np.nan)
    odd = ~blank & ~bad & ((years < MIN_YEAR) | (years > MAX_YEAR))
    report.add(
        odd, f.name, lambda i: f"year outside {MIN_YEAR}..{MAX_YEAR}: {text[i]!r}"
    )
    parsed = parsed.where(~odd)
    if f.required:
        report.add(blank, f.name, f"{f.name} is required")
    if f.kind == "date":
        values = [None if pd.isna(p) else p.date() for p in parsed]
        return np.array(values, dtype=object)
    naive = ~text.str.contains(TZ_SUFFIX).to_numpy()
    naive &= ~np.array(
        [isinstance(v, pd.Timestamp) and v.tzinfo is not None for v in raw]
    )
    parsed = parsed.where(~naive, parsed - LOCAL_UTC_OFFSET)
    return np.array(
        [None if pd.isna(p) else p.isoformat() for p in parsed], dtype=object
    )
