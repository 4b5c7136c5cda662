"""Set-based writes: COPY a frame into a table in one round trip.

Importers and the demo loader stage rows with COPY and then resolve references
and upsert with one INSERT ... SELECT, never one statement per row. Binary
COPY (the format, its one writer and its encoders) is ``core.pgbinary``; this
module picks it, or CSV for the column types it has no encoder for.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import numpy as np
import pandas as pd
from psycopg2 import sql
from sqlalchemy.orm import Session

import shapely
from geopandas import GeoSeries

from gis_service.core import pending, pgbinary
from gis_service.core.pgbinary import read_binary_frame

__all__ = [
    "copy_columns",
    "copy_frame",
    "paused_gc",
    "read_binary_frame",
    "read_frame",
]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk read or write.

    Reading 100 000 features creates 100 000 shapely geometries and as many
    strings, which triggers full collections that walk every live object
    (~0.12 s of a 0.25 s read); none of them form cycles. Reference counting
    still frees everything. A no-op if the collector is already off.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


CHUNK_ROWS = 10_000  # rows encoded at a time while the server parses the last
BINARY_CHUNK_ROWS = 20_000  # rows encoded at a time: bounded memory for big files
_BINARY_ENCODERS = pgbinary.FRAME_TYPES  # a frame goes binary if every column's
_COLUMN_TYPES = """
SELECT a.attname, t.typname, t.typelem::int8 FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = CAST(%(table)s AS regclass) AND a.attnum > 0
  AND NOT a.attisdropped
"""


def _pg_array(values: Any) -> str | None:
    """Render a Python list as a PostgreSQL array literal for COPY csv."""
    if values is None or (isinstance(values, float) and np.isnan(values)):
        return None
    escaped = (
        '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values
    )
    return "{" + ",".join(escaped) + "}"


def _pg_arrays(column: pd.Series) -> pd.Series:
    """``_pg_array`` of every cell, rendering each distinct list once."""
    rendered: dict[tuple[Any, ...], str | None] = {}

    def render(values: Any) -> str | None:
        if not isinstance(values, list | tuple | np.ndarray):
            return _pg_array(values)
        key = tuple(values)
        if key not in rendered:
            rendered[key] = _pg_array(values)
        return rendered[key]

    return column.map(render)


class _CsvChunks(io.TextIOBase):
    """A file whose reads encode ``frame`` as CSV a chunk at a time.

    COPY reads it as it sends, so Python encodes chunk n+1 while the server
    parses and stores chunk n: the two processes work at once.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._chunks: Iterator[str] = (
            frame.iloc[i : i + CHUNK_ROWS].to_csv(index=False, header=False, na_rep="")
            for i in range(0, len(frame), CHUNK_ROWS)
        )
        self._chunk = ""
        self._at = 0

    def readable(self) -> bool:
        """COPY FROM only reads."""
        return True

    def read(self, size: int | None = -1) -> str:
        """Up to ``size`` characters; all that is left when ``size`` < 0."""
        if size is None or size < 0:
            rest = self._chunk[self._at :] + "".join(self._chunks)
            self._chunk, self._at = "", 0
            return rest
        if self._at >= len(self._chunk):
            self._chunk, self._at = next(self._chunks, ""), 0
        out = self._chunk[self._at : self._at + size]
        self._at += len(out)
        return out


def _ewkb_hex(series: GeoSeries | pd.Series, srid: int | None = 4326) -> pd.Series:
    """Vectorised (E)WKB hex, with ``srid`` unless it is None."""
    geoms = np.asarray(series.values, dtype=object)
    if srid is not None:
        geoms = shapely.set_srid(geoms, srid)
    return pd.Series(
        shapely.to_wkb(geoms, hex=True, include_srid=srid is not None),
        index=series.index,
    )


def copy_frame(
    session: Session,
    table: str,
    frame: pd.DataFrame,
    *,
    geometry_columns: Sequence[str] = (),
    array_columns: Sequence[str] = (),
    column_srid: bool = False,
) -> int:
    """COPY ``frame`` into ``table`` (columns by name) in the session's transaction.

    ``table`` and the column names come from code, never from a request; they are
    still quoted as identifiers. When every target column has a type with a binary
    encoder in ``pgbinary`` (numbers, booleans, text, geometry, text arrays) the
    rows go by binary COPY; otherwise (dates, numeric...) as CSV, encoded a chunk
    at a time. Geometries go as EWKB tagged EPSG:4326, or, with
    ``column_srid`` (the columns are ``geometry(..., 4326)``), as plain WKB that
    PostGIS tags on input: tagging 100 000 geometries in Python costs ~0.1 s.
    """
    if frame.empty:
        return 0
    types = _column_types(session, table)
    if all(types.get(c, ("?", 0))[0] in _BINARY_ENCODERS for c in frame.columns):
        rows = (
            pgbinary.tuples(
                [pgbinary.series(chunk[c], *types[c], column_srid) for c in chunk],
                len(chunk),
            )
            for chunk in _chunks(frame, BINARY_CHUNK_ROWS)
        )
        pgbinary.write_binary(session, table, list(frame.columns), rows)
        return len(frame)
    out = pd.DataFrame(frame).copy()
    for col in geometry_columns:
        out[col] = _ewkb_hex(out[col], None if column_srid else 4326)
    for col in array_columns:
        out[col] = _pg_arrays(out[col])
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, NULL '')").format(
        sql.Identifier(*table.split(".")),
        sql.SQL(", ").join(sql.Identifier(c) for c in out.columns),
    )
    raw = pending.dbapi_connection(session.connection())
    with cast(Any, raw).cursor() as cursor:
        cursor.copy_expert(statement, _CsvChunks(out), size=1 << 16)
    return len(out)


def copy_columns(
    session: Session,
    table: str,
    columns: dict[str, tuple[str, Any, Any]],
    *,
    freeze: bool = False,
) -> int:
    """COPY typed numpy columns into ``table`` by binary COPY (no frame, no checks).

    ``columns``: name -> (type, values, NULL mask or None); the types are those of
    ``pgbinary.typed`` (int8, int4, int2, float8, bool, text, timestamptz as int64
    microseconds since 1970). ``freeze``: the table was created in this
    transaction (see ``pgbinary.write_binary``). Names come from code.
    """
    specs = [
        (kind, np.asarray(values), None if nulls is None else np.asarray(nulls, bool))
        for kind, values, nulls in columns.values()
    ]
    n = len(specs[0][1]) if specs else 0
    if n == 0:
        return 0

    def encoded(rows: slice) -> list[pgbinary.Encoded]:
        return [
            pgbinary.typed(kind, values[rows], None if nulls is None else nulls[rows])
            for kind, values, nulls in specs
        ]

    step = BINARY_CHUNK_ROWS * 5  # fixed-width columns: 100 000 rows are ~6 MB
    rows = (
        pgbinary.tuples(encoded(slice(i, i + step)), min(step, n - i))
        for i in range(0, n, step)
    )
    pgbinary.write_binary(session, table, list(columns), rows, freeze=freeze)
    return n


def _chunks(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    """Consecutive slices of ``size`` rows."""
    return (frame.iloc[i : i + size] for i in range(0, len(frame), size))


def _column_types(session: Session, table: str) -> dict[str, tuple[str, int]]:
    """Column name -> (type name, element type oid) of ``table``."""
    raw = pending.dbapi_connection(session.connection())
    with cast(Any, raw).cursor() as cursor:
        cursor.execute(_COLUMN_TYPES, {"table": table})
        return {name: (typ, int(elem)) for name, typ, elem in cursor.fetchall()}


def read_frame(
    session: Session, query: str, params: dict[str, Any] | None = None
) -> pd.DataFrame:
    """Run a SELECT through ``COPY (...) TO STDOUT`` into a frame (fast for big reads).

    COPY takes no server-side parameters, so ``params`` are bound by psycopg2's
    own quoting (``cursor.mogrify``), exactly as it binds every other statement.
    """
    raw = pending.dbapi_connection(session.connection())
    buffer = io.StringIO()
    with cast(Any, raw).cursor() as cursor:
        bound = cursor.mogrify(query, params or {}).decode()
        cursor.copy_expert(
            f"COPY ({bound}) TO STDOUT WITH (FORMAT csv, HEADER)", buffer
        )
    buffer.seek(0)
    return pd.read_csv(buffer, keep_default_na=False, na_values=[""])
