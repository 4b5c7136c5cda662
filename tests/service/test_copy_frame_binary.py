"""Binary COPY stores exactly what the CSV COPY stores, across chunk boundaries."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

import shapely

from gis_service.core import bulk

_TABLE = (
    "CREATE TEMP TABLE _bin (i2 int2, i4 int4, i8 int8, f float8, b bool, t text, "
    "v varchar(5), a varchar[], g geometry(Geometry, 4326)) ON COMMIT DROP"
)
_READ = text("SELECT i2, i4, i8, f, b, t, v, a, ST_AsEWKT(g) FROM _bin ORDER BY i8")


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i2": pd.array([1, None, -3, 32767, 5], dtype="Int64"),
            "i4": pd.array([1, None, 3, None, 2**31 - 1], dtype="Int64"),
            "i8": np.arange(5),
            "f": [np.nan, 1.5, None, -0.25, np.inf],
            "b": [True, None, False, True, None],
            "t": ["户主", None, "", "a,b\"c", np.nan],
            "v": [1, "xy", None, pd.NA, "五个字正好"],
            "a": [["低保", "残疾"], [], None, ("x",), ['q"', "d,e"]],
            "g": [shapely.Point(102.5, 37.1), None, shapely.Point(1, 2),
                  shapely.from_wkt("POINT EMPTY"),
                  shapely.from_wkt("MULTIPOLYGON(((0 0,1 0,1 1,0 0)))")],
        }
    )  # fmt: skip


def _copy(session: Session, frame: pd.DataFrame) -> list[Any]:
    session.execute(text("DROP TABLE IF EXISTS _bin"))
    session.execute(text(_TABLE))
    bulk.copy_frame(
        session, "_bin", frame, geometry_columns=["g"], array_columns=["a"],
        column_srid=True,
    )  # fmt: skip
    return [tuple(r) for r in session.execute(_READ)]


def test_binary_and_csv_store_the_same_rows(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "BINARY_CHUNK_ROWS", 2)  # three chunks
    binary = _copy(session, _frame())
    monkeypatch.setattr(bulk, "_BINARY_ENCODERS", set())  # every column as CSV
    csv = _copy(session, _frame())
    assert binary == csv
    assert binary[2][5] is None  # '' is NULL, as CSV's NULL '' has it
    assert binary[0][7] == ["低保", "残疾"] and binary[1][7] == []


def test_binary_copy_refuses_to_wrap_an_integer(session: Session) -> None:
    session.execute(text(_TABLE))
    frame = pd.DataFrame({"i8": [1], "i2": [40000]})
    with pytest.raises(Exception, match="does not fit in int2"):
        bulk.copy_frame(session, "_bin", frame)
