"""Tiny hand-drawn fixtures with known answers, written through plain SQL.

Factories commit (to the test's SAVEPOINT) so that a service which rolls back
on bad input cannot take the fixture data with it; the test's outer transaction
still discards everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from shapely import wkt
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

import grids.models  # noqa: F401  (the models the column lists come from)
from gis_service.core.models import column_defs

TOWNSHIP = "620623101000"
# Typed as the households model types them (a code too long fails here, as it would
# in the table, instead of passing as text).
_HOUSEHOLD_ROW = column_defs("households", ["code", "tags", "id_number", "phone"])
OTHER_TOWNSHIP = "620623102000"


def ewkt(geom: BaseGeometry | str) -> str:
    """EWKT in EPSG:4326; polygons are promoted to MultiPolygon."""
    shape = wkt.loads(geom) if isinstance(geom, str) else geom
    if isinstance(shape, Polygon):
        shape = MultiPolygon([shape])
    return f"SRID=4326;{shape.wkt}"


def make_township(session: Session, code: str = TOWNSHIP, name: str = "测试镇") -> str:
    session.execute(
        text(
            "INSERT INTO townships (code, name) VALUES (:c, :n) ON CONFLICT DO NOTHING"
        ),
        {"c": code, "n": name},
    )
    session.commit()
    return code


def make_grid(
    session: Session,
    code: str,
    geom: BaseGeometry | str,
    *,
    township: str = TOWNSHIP,
    parent: str | None = None,
    level: str = "grid",
    name: str | None = None,
) -> int:
    """Insert one grid (parent by code); depth and path follow the parent."""
    grid_id = session.execute(
        text(
            """
            INSERT INTO grids (township_code, code, name, level, parent_id, depth,
                               path, geom)
            SELECT :t, :code, :name, :level, p.id, COALESCE(p.depth + 1, 0), '/',
                   ST_GeomFromEWKT(:g)
            FROM (SELECT 1) one
            LEFT JOIN grids p ON p.township_code = :t AND p.code = :parent
            RETURNING id
            """
        ),
        {"t": township, "code": code, "name": name or code, "level": level,
         "parent": parent, "g": ewkt(geom)},
    ).scalar_one()  # fmt: skip
    session.execute(
        text(
            "UPDATE grids g SET path = COALESCE(p.path, '/') || g.id || '/' "
            "FROM grids g2 LEFT JOIN grids p ON p.id = g2.parent_id "
            "WHERE g.id = :id AND g2.id = :id"
        ),
        {"id": grid_id},
    )
    session.commit()
    return int(grid_id)


def make_households(
    session: Session,
    points: Sequence[tuple[float, float]],
    *,
    township: str = TOWNSHIP,
    prefix: str = "H",
    tags: Sequence[Sequence[str]] | None = None,
    **extra: Any,
) -> list[int]:
    """Insert households at (lon, lat) points in one statement; returns their ids."""
    rows = [
        {
            "t": township,
            "code": f"{prefix}{i + 1:03d}",
            "lon": lon,
            "lat": lat,
            "tags": list(tags[i]) if tags else [],
            "id_number": extra.get("id_number"),
            "phone": extra.get("phone"),
        }
        for i, (lon, lat) in enumerate(points)
    ]
    ids = session.execute(
        text(
            f"""
            INSERT INTO households (township_code, code, head_name, members, tags,
                                    id_number, phone, geom)
            SELECT r.t, r.code, '户主' || r.code, 3, r.tags, r.id_number, r.phone,
                   ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326)
            FROM jsonb_to_recordset(CAST(:rows AS jsonb))
                 AS r(t text, lon float8, lat float8, {_HOUSEHOLD_ROW})
            RETURNING id
            """
        ),
        {"rows": _json(rows)},
    ).scalars()
    out = [int(i) for i in ids]
    session.commit()
    return out


def make_cadre(
    session: Session,
    code: str,
    *,
    grid: str | None,
    township: str = TOWNSHIP,
    capacity: int = 14,
    base: tuple[float, float] | None = None,
) -> int:
    cadre_id = session.execute(
        text(
            """
            INSERT INTO cadres (township_code, code, name, role, home_grid_id,
                                capacity, base)
            SELECT :t, :code, '干部' || :code, 'grid_worker', g.id, :cap,
                   CASE WHEN :lon IS NULL THEN NULL
                        ELSE ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END
            FROM (SELECT 1) one
            LEFT JOIN grids g ON g.township_code = :t AND g.code = :grid
            RETURNING id
            """
        ),
        {"t": township, "code": code, "grid": grid, "cap": capacity,
         "lon": base[0] if base else None, "lat": base[1] if base else None},
    ).scalar_one()  # fmt: skip
    session.commit()
    return int(cadre_id)


def _json(rows: list[dict[str, Any]]) -> str:
    import json

    return json.dumps(rows, ensure_ascii=False)


def square(x0: float, y0: float, size: float) -> Polygon:
    """An axis-aligned square in degrees."""
    return Polygon([(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size)])
