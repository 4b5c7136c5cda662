"""Tiny layer files written in the test's tmp_path, and helpers to upload them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

import geopandas as gpd
from shapely.geometry import Point

from tests.factories import TOWNSHIP

PROBLEM = "application/problem+json"
GEOJSON = "application/geo+json"
ID_NUMBER = "620623199001011234"
PHONE = "13812345678"


def households_frame(n: int = 3, **columns: list[Any]) -> gpd.GeoDataFrame:
    """``n`` valid households near 102.5°E 37.1°N; override any column."""
    data: dict[str, Any] = {
        "code": [f"H{i + 1}" for i in range(n)],
        "head_name": [f"户主{i + 1}" for i in range(n)],
        "members": [i + 1 for i in range(n)],
        "village": ["南泥沟村"] * n,
        "tags": ["低保,残疾"] + [""] * (n - 1),
        "id_number": [ID_NUMBER] * n,
        "phone": [PHONE] * n,
    }
    data.update(columns)
    geometry = columns.pop("geometry", None) or [
        Point(102.5 + i * 0.01, 37.1 + i * 0.01) for i in range(n)
    ]
    data.pop("geometry", None)
    return gpd.GeoDataFrame(data, geometry=geometry, crs=4326)


def write(frame: gpd.GeoDataFrame, path: Path, **kwargs: Any) -> Path:
    """Write ``frame`` with the driver its suffix implies."""
    frame.to_file(path, **kwargs)
    return path


def upload(
    client: TestClient,
    target: str,
    path: Path,
    *,
    township: str = TOWNSHIP,
    **options: Any,
) -> Any:
    """POST a file to ``target`` layer's import endpoint with form options."""
    data = {k: str(v).lower() if isinstance(v, bool) else v for k, v in options.items()}
    with path.open("rb") as handle:
        return client.post(
            f"/townships/{township}/layers/{target}/import",
            files={"file": (path.name, handle)},
            data=data,
        )


def count(session: Session, table: str, township: str = TOWNSHIP) -> int:
    """Rows of ``table`` in the township (a code constant, not input)."""
    return int(
        session.execute(
            text(f"SELECT count(*) FROM {table} WHERE township_code = :t"),
            {"t": township},
        ).scalar_one()
    )


def snapshot(session: Session, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table`` as text, to prove nothing changed."""
    return [
        tuple(r)
        for r in session.execute(text(f"SELECT t::text FROM {table} t ORDER BY id"))
    ]
