"""Binary COPY: our encoder vs psycopg 3's, on the import and assignment rows.

The frame is what an import stages (``layers.io.validation.prepare`` of the
benchmark's GeoPackage): ``_stage_import`` gets it by ``copy_frame``, binary
COPY through psycopg2 with rows laid out by Arrow. The peer is psycopg 3's
binary COPY (``cursor.copy`` + ``set_types`` + ``write_row``, its C dumpers)
on its own connection to the same server, from the same frame: its time
includes turning the frame into Python rows (WKB bytes, lists, None for NULL),
since ``write_row`` takes nothing else. Then the rows an assignment run writes
(``bulk.copy_columns``: ids, flags, a few reasons, a timestamp) both ways. Runs
alternate; medians are printed; each pair is checked to store the same rows.

    python bench/copy_writers.py [--households 100000] [--assignments 200000]
                                 [--repeat 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

import shapely

from bench.import_households import make_file, scratch_database, server_url
from gis_service.core.bulk import copy_columns, copy_frame
from gis_service.core.db import make_engine
from layers.io import staging
from layers.io.reading import read_features
from layers.io.specs import get_layer
from layers.io.validation import prepare

# PostgreSQL type per staging column type for psycopg's dumpers; the geometry
# goes as bytes (bytea's binary dumper sends them raw: PostGIS reads EWKB/WKB).
_PG = {"int4": "int4", "int2": "int2", "int8": "int8", "float8": "float8",
       "bool": "bool", "text": "text", "varchar": "varchar", "_varchar": "varchar[]",
       "_text": "text[]", "geometry": "bytea"}  # fmt: skip


def _cells(column: pd.Series, typ: str) -> list[Any]:
    """A column as Python values psycopg can dump, NULL as None ('' too, for text).

    Vectorised where numpy can (``tolist`` makes Python ints and floats in C);
    only the NULL substitution is a Python loop.
    """
    if typ == "geometry":
        return list(shapely.to_wkb(np.asarray(column.to_numpy(object), dtype=object)))
    null = np.array(pd.isna(column), bool)
    if typ in ("_text", "_varchar"):
        values = column.to_numpy(object).tolist()  # lists of str, from validation
    elif typ in ("text", "varchar"):
        values = column.to_numpy(object).tolist()
        null |= np.fromiter((v == "" for v in values), bool, len(values))
    elif typ == "bool":
        values = pd.array(column, dtype="boolean").to_numpy(bool, na_value=False)
        values = values.tolist()
    elif typ == "float8":
        values = pd.array(column, dtype="Float64").to_numpy(float, na_value=0.0)
        values = values.tolist()
    else:
        values = pd.array(column, dtype="Int64").to_numpy(np.int64, na_value=0)
        values = values.tolist()
    if not null.any():
        return list(values)
    return [None if n else v for v, n in zip(values, null.tolist(), strict=True)]


def psycopg3_copy(conn: Any, frame: pd.DataFrame, types: dict[str, str]) -> float:
    """The frame by psycopg 3's binary COPY, one ``write_row`` per row.

    Returns the seconds spent turning the frame into Python rows.
    """
    from psycopg import sql

    started = time.perf_counter()
    columns = list(frame.columns)
    cells = [_cells(frame[c], types[c]) for c in columns]
    converting = time.perf_counter() - started
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(staging.STAGE), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types([_PG[types[c]] for c in columns])
        for row in zip(*cells, strict=True):
            copy.write_row(row)
    return converting


_ASSIGN_DDL = (
    "CREATE TEMP TABLE _assign_bench (household_id int8, grid_id int8,"
    " cadre_id int8, pinned bool, reason text, assigned_at timestamptz)"
)
_ASSIGN_TYPES = ["int8", "int8", "int8", "bool", "text", "int8"]
_ASSIGN_MD5 = (
    "SELECT md5(string_agg(a::text, '|' ORDER BY household_id)) FROM _assign_bench a"
)


def assignment_columns(n: int) -> dict[str, tuple[str, Any, Any]]:
    """What ``grids.assignment.store.replace_partition`` writes for n households."""
    rng = np.random.default_rng(1)
    reason = np.array(
        rng.choice(["nearest", "kept", "capacity", None], n), dtype=object
    )
    return {
        "household_id": ("int8", np.arange(n, dtype=np.int64), None),
        "grid_id": ("int8", rng.integers(1, 500, n), rng.random(n) < 0.01),
        "cadre_id": ("int8", rng.integers(1, 3000, n), rng.random(n) < 0.05),
        "pinned": ("bool", rng.random(n) < 0.01, None),
        "reason": ("text", reason, pd.isna(reason)),
        "assigned_at": ("timestamptz", np.full(n, 1_700_000_000 * 10**6), None),
    }


def psycopg3_assignments(conn: Any, columns: dict[str, tuple[str, Any, Any]]) -> None:
    """The same columns by ``write_row``; timestamptz goes as its binary int8
    (microseconds since 2000), which spares psycopg building datetimes."""
    cells = []
    for kind, values, nulls in columns.values():
        if kind == "timestamptz":
            values = values - 946_684_800_000_000
        out = values.tolist()
        if nulls is not None:
            out = [None if n else v for v, n in zip(out, nulls.tolist(), strict=True)]
        cells.append(out)
    with conn.cursor() as cursor:
        statement = (
            f"COPY _assign_bench ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        )
        with cursor.copy(statement) as copy:
            copy.set_types(_ASSIGN_TYPES)
            for row in zip(*cells, strict=True):
                copy.write_row(row)


def compare_assignments(
    engine: Any, conninfo: str, n: int, repeat: int
) -> tuple[list[float], list[float]]:
    """copy_columns vs write_row on the assignment partition's rows."""
    import psycopg

    columns = assignment_columns(n)
    ours: list[float] = []
    theirs: list[float] = []
    with Session(engine) as session, psycopg.connect(conninfo) as conn:
        for _ in range(repeat):
            session.execute(text(_ASSIGN_DDL))
            t = time.perf_counter()
            copy_columns(session, "_assign_bench", columns)
            ours.append(time.perf_counter() - t)
            expected = session.execute(text(_ASSIGN_MD5)).scalar_one()
            session.rollback()
            conn.execute(_ASSIGN_DDL)
            t = time.perf_counter()
            psycopg3_assignments(conn, columns)
            theirs.append(time.perf_counter() - t)
            got = conn.execute(_ASSIGN_MD5).fetchone()
            conn.rollback()
            assert got is not None and got[0] == expected, "different rows"
    return ours, theirs


_TYPES = text(
    "SELECT a.attname, t.typname FROM pg_attribute a "
    "JOIN pg_type t ON t.oid = a.atttypid "
    "WHERE a.attrelid = CAST(:t AS regclass) AND a.attnum > 0"
)


def _stage(execute: Any, spec: Any) -> None:
    for statement in staging.stage_ddl(spec):
        execute(str(statement))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--assignments", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    import psycopg

    from tests.conftest import drop_database

    url = scratch_database(server_url(args.database_url))
    engine = make_engine(url)
    spec = get_layer("households")
    ours: list[float] = []
    theirs: list[float] = []
    converting: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "households.gpkg"
            make_file(path, args.households)
            prepared = prepare(read_features(path), spec)
        frame = prepared.rows
        arrays = [f.name for f in spec.fields if f.kind == "tags"]
        plain = make_url(url).set(drivername="postgresql")
        conninfo = plain.render_as_string(hide_password=False)
        with Session(engine) as session, psycopg.connect(conninfo) as conn:
            for _ in range(args.repeat):  # alternate, so both see the same machine
                _stage(lambda s: session.execute(text(s)), spec)
                t = time.perf_counter()
                copy_frame(
                    session, staging.STAGE, frame, geometry_columns=["geom"],
                    array_columns=arrays, column_srid=True,
                )  # fmt: skip
                ours.append(time.perf_counter() - t)
                types: dict[str, str] = dict(
                    session.execute(_TYPES, {"t": staging.STAGE}).all()
                )
                ours_rows = session.execute(
                    text(f"SELECT md5(string_agg(s::text, '|' ORDER BY _idx)) "
                         f"FROM {staging.STAGE} s")
                ).scalar_one()  # fmt: skip
                session.rollback()
                _stage(conn.execute, spec)
                t = time.perf_counter()
                converting.append(psycopg3_copy(conn, frame, types))
                theirs.append(time.perf_counter() - t)
                their_rows = conn.execute(
                    f"SELECT md5(string_agg(s::text, '|' ORDER BY _idx)) "
                    f"FROM {staging.STAGE} s"
                ).fetchone()
                conn.rollback()
                assert their_rows is not None and their_rows[0] == ours_rows, (
                    "the two writers stored different rows"
                )
        a_ours, a_theirs = compare_assignments(
            engine, conninfo, args.assignments, args.repeat
        )
    finally:
        engine.dispose()
        drop_database(make_url(url))
    n = len(frame)
    o, p = float(np.median(ours)), float(np.median(theirs))
    print(f"{n} households, {len(frame.columns)} columns, median of {args.repeat}:")
    print(f"ours     copy_frame (Arrow layout, psycopg2): {o:6.3f}s {n / o:9.0f}/s "
          f"(runs {', '.join(f'{x:.3f}' for x in ours)})")  # fmt: skip
    runs = ", ".join(f"{x:.3f}" for x in theirs)
    print(f"psycopg3 copy.write_row (binary)           : {p:6.3f}s {n / p:9.0f}/s "
          f"(runs {runs})  ratio {p / o:.2f}")  # fmt: skip
    print(f"  of which building Python rows from the frame: "
          f"{float(np.median(converting)):.3f}s")  # fmt: skip
    m, ao, ap = args.assignments, float(np.median(a_ours)), float(np.median(a_theirs))
    print(f"{m} assignment rows (6 columns), median of {args.repeat}:")
    print(f"ours     copy_columns                       : {ao:6.3f}s {m / ao:9.0f}/s")
    print(f"psycopg3 copy.write_row (binary)           : {ap:6.3f}s {m / ap:9.0f}/s "
          f"ratio {ap / ao:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
