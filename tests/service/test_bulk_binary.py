"""Binary COPY helpers: values, NULLs and text survive the round trip exactly."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.bulk import copy_columns, read_binary_frame


def test_copy_columns_writes_values_and_nulls(session: Session) -> None:
    session.execute(
        text(
            "CREATE TEMP TABLE _bin (a int8, b bool, c text, d timestamptz, "
            "e float8, f int2)"
        )
    )
    at = int(datetime(2026, 11, 25, 9, 30, 15, 123456, tzinfo=UTC).timestamp() * 1e6)
    written = copy_columns(
        session,
        "_bin",
        {
            "a": ("int8", np.array([1, -2, 3]), np.array([False, False, True])),
            "b": ("bool", np.array([True, False, True]), None),
            "c": ("text", np.array(["拥有", None, ""], dtype=object),
                  np.array([False, True, False])),
            "d": ("timestamptz", np.array([at, 0, at]), None),
            "e": ("float8", np.array([102.5, -0.25, 1e-7]), None),
            "f": ("int2", np.array([7, -1, 0]), None),
        },
    )  # fmt: skip
    rows = session.execute(text("SELECT * FROM _bin ORDER BY e")).all()
    assert written == 3
    assert [tuple(r) for r in rows] == [
        (-2, False, None, datetime(1970, 1, 1, tzinfo=UTC), -0.25, -1),
        (None, True, "",
         datetime(2026, 11, 25, 9, 30, 15, 123456, tzinfo=UTC), 1e-7, 0),
        (1, True, "拥有", datetime(2026, 11, 25, 9, 30, 15, 123456, tzinfo=UTC),
         102.5, 7),
    ]  # fmt: skip


def test_read_binary_frame_reads_fixed_width_columns(session: Session) -> None:
    frame = read_binary_frame(
        session,
        "SELECT g::int8 AS id, g * 0.5::float8 AS x, (g %% 2)::int2 AS odd "
        "FROM generate_series(1, %(n)s) g",
        {"n": 4},
        {"id": "int8", "x": "float8", "odd": "int2"},
    )
    assert frame["id"].tolist() == [1, 2, 3, 4]
    assert frame["x"].tolist() == [0.5, 1.0, 1.5, 2.0]
    assert frame["odd"].tolist() == [1, 0, 1, 0]
    assert frame["id"].dtype == np.int64


def test_read_binary_frame_refuses_nulls(session: Session) -> None:
    with pytest.raises(ValueError, match="NULL"):
        read_binary_frame(session, "SELECT NULL::int8 AS a", None, {"a": "int8"})


def test_copy_columns_across_chunks_keeps_order_and_all_null_text(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gis_service.core import bulk

    monkeypatch.setattr(bulk, "BINARY_CHUNK_ROWS", 1)  # five rows a chunk
    session.execute(text("CREATE TEMP TABLE _chunks (a int4, c text)"))
    n = 12
    written = copy_columns(
        session,
        "_chunks",
        {
            "a": ("int4", np.arange(n), None),
            "c": ("text", np.full(n, None, dtype=object), np.ones(n, bool)),
        },
    )
    rows = session.execute(text("SELECT a, c FROM _chunks")).all()
    assert written == n
    assert [tuple(r) for r in rows] == [(i, None) for i in range(n)]
