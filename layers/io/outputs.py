"""What an export hands back, shared by layer exports and ledgers.

GeoPackages are written through Arrow so every field keeps its type: a date-only
value is a GPKG Date, an instant a DateTime (UTC), counts Integer64, measures Real.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import pyarrow as pa

from pyproj import CRS

from gis_service.core.errors import InvalidInput
from layers.io.crs import parse_crs


def target_crs(value: str) -> CRS:
    """An export's CRS option as a pyproj CRS; a 422 for anything unknown."""
    parsed = parse_crs(value)
    if not isinstance(parsed, CRS):
        raise InvalidInput(
            f"cannot export in {value!r}: give an EPSG code such as EPSG:4490",
            errors=[{"field": "crs", "reason": "an EPSG code"}],
        )
    return parsed


def _day(value: Any) -> date | None:
    """A date-only value from a date or its ISO text (None stays None)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def typed_column(values: Sequence[Any], kind: str) -> pd.Series:
    """``values`` as a column GDAL writes with the field type ``kind`` means.

    ``time``: DateTime in UTC (milliseconds, as GPKG keeps them); ``date``: Date
    (an Arrow date32, so even an all-empty column stays a Date); ``int``:
    Integer64; ``float``: Real; anything else is left as it is.
    """
    if kind == "time":
        instants = pd.to_datetime(
            pd.Series(list(values), dtype="object"), utc=True, format="ISO8601"
        )
        return instants.astype("datetime64[ms, UTC]")
    if kind == "date":
        days = [_day(v) for v in values]
        return pd.Series(days, dtype=pd.ArrowDtype(pa.date32()))
    if kind == "int":
        return pd.Series(list(values), dtype="object").astype("Int64")
    if kind == "float":
        return pd.Series(list(values), dtype="object").astype("float64")
    return pd.Series(list(values), dtype="object")


@dataclass
class Export:
    """An exported file: its bytes, media type and a download name."""

    content: bytes
    media_type: str
    filename: str
