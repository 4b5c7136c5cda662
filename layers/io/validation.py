"""Check and type read features for a layer: columns, geometry, attributes, keys.

Each problem is reported per feature as ``{"feature": index, "code": external
code, "field": ..., "reason": ...}``; a problem of the whole file (a missing
column, an unmapped reference) is one error with ``feature`` None. The checks
that need the database (polygon validity by ``ST_IsValidReason``, references by
code) run in SQL on the staging table, in ``importing.py``. The pieces live
beside this module: ``columns`` (which column is which field), ``coercion``
(types and values), ``geometry_checks`` (geometry, CRS and extent).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from layers.io.coercion import NUL_REASON, Report, coerce, texts
from layers.io.columns import canonical_columns
from layers.io.geometry_checks import Place, geometries
from layers.io.reading import ReadResult
from layers.io.specs import LayerSpec

logger = logging.getLogger(__name__)


@dataclass
class Prepared:
    """Typed rows ready to stage, what the file contained, and what is wrong."""

    rows: pd.DataFrame  # _idx, key, present fields, <personal>__keep, geom
    present: list[str]
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    crs: str = "EPSG:4326"
    first_row: int | None = None  # a table's first data row (header = row 1)


def prepare(
    read: ReadResult,
    spec: LayerSpec,
    *,
    crs: str | None = None,
    field_map: Mapping[str, str] | None = None,
    id_numbers: str = "flag",
    place: Place | None = None,
) -> Prepared:
    """Check and type every feature of ``read`` for layer ``spec``."""
    frame, column_warnings = canonical_columns(read.frame, spec, field_map)
    warnings = [*read.warnings, *column_warnings]
    n = len(frame)
    key = (
        texts(frame[spec.key]) if spec.key in frame else np.full(n, None, dtype=object)
    )
    report = Report(key, first_row=read.first_row, id_numbers=id_numbers)
    for i, name in read.nul_cells:  # GeoJSON: GDAL cut these strings short
        report.add(np.arange(n) == i, name, NUL_REASON)
    rows = pd.DataFrame({"_idx": np.arange(n)})
    geoms, geom_warnings, crs_label = geometries(read, spec, report, crs, place)
    warnings += geom_warnings
    rows[spec.key] = key
    present = [f.name for f in spec.fields if f.name in frame.columns]
    for f in spec.fields:
        if f.name in frame.columns:
            values, keep = coerce(frame[f.name], f, report)
            rows[f.name] = values
            if f.personal:
                rows[f"{f.name}__keep"] = keep
    missing_key = pd.isna(key)
    dup = pd.Series(key).duplicated(keep="first").to_numpy() & ~missing_key
    if dup.any():
        first = pd.Series(np.arange(n)).groupby(pd.Series(key)).transform("first")
        report.add(
            dup,
            spec.key,
            lambda i: f"duplicate {spec.key} (first at feature {first[i]})",
        )
    rows["geom"] = geoms
    warnings += report.warnings
    return Prepared(rows, present, report.errors, warnings, crs_label, read.first_row)
