"""Set-based writes: COPY a frame into a table in one round trip.

Importers and the demo loader stage rows with COPY and then resolve references
and upsert with one INSERT ... SELECT, never one statement per row.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from psycopg2 import sql
from sqlalchemy.orm import Session

import shapely
from geopandas import GeoSeries


def _pg_array(values: Any) -> str | None:
    """Render a Python list as a PostgreSQL array literal for COPY csv."""
    if values is None or (isinstance(values, float) and np.isnan(values)):
        return None
    escaped = (
        '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values
    )
    return "{" + ",".join(escaped) + "}"


def _ewkb_hex(series: GeoSeries | pd.Series, srid: int = 4326) -> pd.Series:
    """Vectorised EWKB hex with SRID (what PostGIS's geometry input accepts)."""
    geoms = np.asarray(series.values, dtype=object)
    with_srid = shapely.set_srid(geoms, srid)
    return pd.Series(
        shapely.to_wkb(with_srid, hex=True, include_srid=True), index=series.index
    )


def copy_frame(
    session: Session,
    table: str,
    frame: pd.DataFrame,
    *,
    geometry_columns: Sequence[str] = (),
    array_columns: Sequence[str] = (),
) -> int:
    """COPY ``frame`` into ``table`` (columns by name) in the session's transaction.

    ``table`` and the column names come from code, never from a request; they are
    still quoted as identifiers.
    """
    if frame.empty:
        return 0
    out = pd.DataFrame(frame).copy()
    for col in geometry_columns:
        out[col] = _ewkb_hex(out[col])
    for col in array_columns:
        out[col] = out[col].map(_pg_array)
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, header=False, na_rep="")
    buffer.seek(0)
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, NULL '')").format(
        sql.Identifier(*table.split(".")),
        sql.SQL(", ").join(sql.Identifier(c) for c in out.columns),
    )
    raw = session.connection().connection.dbapi_connection
    with cast(Any, raw).cursor() as cursor:
        cursor.copy_expert(statement, buffer)
    return len(out)


def read_frame(
    session: Session, query: str, params: dict[str, Any] | None = None
) -> pd.DataFrame:
    """Run a SELECT through ``COPY (...) TO STDOUT`` into a frame (fast for big reads).

    COPY takes no server-side parameters, so ``params`` are bound by psycopg2's
    own quoting (``cursor.mogrify``), exactly as it binds every other statement.
    """
    raw = session.connection().connection.dbapi_connection
    buffer = io.StringIO()
    with cast(Any, raw).cursor() as cursor:
        bound = cursor.mogrify(query, params or {}).decode()
        cursor.copy_expert(
            f"COPY ({bound}) TO STDOUT WITH (FORMAT csv, HEADER)", buffer
        )
    buffer.seek(0)
    return pd.read_csv(buffer, keep_default_na=False, na_values=[""])
