"""Hazards with households at known geodesic distances, written through plain SQL.

Layout (WGS 84 degrees):

    G (domain) = G-W [102.48, 102.50] × [37.08, 37.12]  cadre C1 (base 102.49, 37.10)
               + G-E [102.50, 102.53] × [37.08, 37.12]  cadre C2 (base 102.515, 37.10)

    HZ-P  landslide point at (102.495, 37.100), radius 500 m (the kind's default):
          RING households at 495..499 and 501..505 m (pyproj.Geod.fwd), one at 100 m
    HZ-A  flood polygon [102.520, 102.522] × [37.100, 37.102], warn_radius_m 300:
          A-IN at its centre, A-E299 / A-E301 east of its east edge, A-N150 north
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from pyproj import Geod
from shapely.geometry import Point, Polygon

from grids.assignment.store import assign_to
from tests.factories import TOWNSHIP, make_cadre, make_grid, make_township

GEOD = Geod(ellps="WGS84")


def rect_polygon(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """An axis-aligned rectangle in degrees."""
    return Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])


POINT = (102.495, 37.100)
SQUARE = rect_polygon(102.520, 37.100, 102.522, 37.102)
RING = (495.0, 496.0, 497.0, 498.0, 499.0, 501.0, 502.0, 503.0, 504.0, 505.0)
CADRE_PHONES = {"C1": "13800001111", "C2": "13900002222"}


@dataclass
class HazardWorld:
    """Codes -> (lon, lat) of every household, and the ids the tests need."""

    households: dict[str, tuple[float, float]] = field(default_factory=dict)
    grids: dict[str, int] = field(default_factory=dict)
    cadres: dict[str, int] = field(default_factory=dict)


def insert_hazard(
    session: Session,
    code: str,
    geom_wkt: str,
    *,
    kind: str = "landslide",
    severity: str = "medium",
    status: str = "found",
    radius: float | None = None,
    deadline: str | None = None,
    found_days_ago: float = 10,
    closed_days_ago: float | None = None,
    township: str = TOWNSHIP,
) -> int:
    """One hazard; its grid is the deepest one holding a point inside it."""
    hazard_id = session.execute(
        text(
            """
            INSERT INTO hazards (township_code, code, kind, severity, status,
                                 warn_radius_m, deadline, found_at, closed_at, geom,
                                 grid_id)
            SELECT :t, :code, :kind, :severity, :status, :radius, :deadline,
                   now() - make_interval(secs => :found * 86400),
                   CASE WHEN :closed IS NULL THEN NULL
                        ELSE now() - make_interval(secs => :closed * 86400) END,
                   g.geom, (SELECT id FROM grids WHERE township_code = :t
                            AND ST_Covers(geom, g.geom)
                            ORDER BY depth DESC LIMIT 1)
            FROM (SELECT CASE WHEN GeometryType(x) = 'POINT' THEN x
                              ELSE ST_Multi(x) END AS geom
                  FROM ST_GeomFromText(:g, 4326) AS x) g
            RETURNING id
            """
        ),
        {"t": township, "code": code, "kind": kind, "severity": severity,
         "status": status, "radius": radius, "deadline": deadline,
         "found": found_days_ago, "closed": closed_days_ago, "g": geom_wkt},
    ).scalar_one()  # fmt: skip
    session.commit()
    return int(hazard_id)


def add_households(
    session: Session,
    world: HazardWorld,
    rows: list[tuple[str, float, float, list[str], str | None]],
    township: str = TOWNSHIP,
) -> list[int]:
    """(code, lon, lat, tags, phone) households, assigned by side to G-W/C1, G-E/C2."""
    ids = session.execute(
        text(
            """
            INSERT INTO households (township_code, code, head_name, members, tags,
                                    phone, geom)
            SELECT :t, r.code, '户主' || r.code, 3, r.tags, r.phone,
                   ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326)
            FROM jsonb_to_recordset(CAST(:rows AS jsonb))
                 AS r(code text, lon float8, lat float8, tags varchar[], phone text)
            RETURNING id
            """
        ),
        {"t": township, "rows": json.dumps(
            [{"code": c, "lon": x, "lat": y, "tags": tg, "phone": p}
             for c, x, y, tg, p in rows], ensure_ascii=False)},
    ).scalars().all()  # fmt: skip
    session.commit()
    for side, grid, cadre in (("W", "G-W", "C1"), ("E", "G-E", "C2")):
        chosen = [
            int(i) for i, (_, x, *_r) in zip(ids, rows, strict=True)
            if (x < 102.50) == (side == "W")
        ]  # fmt: skip
        if chosen:
            assign_to(
                session,
                township=township,
                household_ids=chosen,
                grid_id=world.grids[grid],
                cadre_id=world.cadres[cadre],
            )
    session.commit()
    for code, x, y, *_ in rows:
        world.households[code] = (x, y)
    return [int(i) for i in ids]


def make_hazard_world(session: Session) -> HazardWorld:
    """The grids, cadres, both hazards and their households (see the module doc)."""
    make_township(session)
    world = HazardWorld()
    world.grids["G"] = make_grid(
        session, "G", rect_polygon(102.48, 37.08, 102.53, 37.12), level="domain"
    )
    world.grids["G-W"] = make_grid(
        session, "G-W", rect_polygon(102.48, 37.08, 102.50, 37.12), parent="G"
    )
    world.grids["G-E"] = make_grid(
        session, "G-E", rect_polygon(102.50, 37.08, 102.53, 37.12), parent="G"
    )
    for code, grid, base in (("C1", "G-W", (102.49, 37.10)),
                             ("C2", "G-E", (102.515, 37.10))):  # fmt: skip
        world.cadres[code] = make_cadre(session, code, grid=grid, base=base)
        session.execute(
            text("UPDATE cadres SET phone = :p WHERE id = :id"),
            {"p": CADRE_PHONES[code], "id": world.cadres[code]},
        )
    session.commit()
    rows: list[tuple[str, float, float, list[str], str | None]] = []
    for k, d in enumerate(RING):
        lon, lat, _ = GEOD.fwd(POINT[0], POINT[1], 36.0 * k + 7, d)
        rows.append((f"R{int(d)}", lon, lat, [], None))
    lon, lat, _ = GEOD.fwd(POINT[0], POINT[1], 200.0, 100.0)
    rows.append(("P100", lon, lat, ["空巢老人"], "13712345678"))
    east = (102.522, 37.101)
    for d in (299.0, 301.0):
        lon, lat, _ = GEOD.fwd(east[0], east[1], 90.0, d)
        rows.append((f"A-E{int(d)}", lon, lat, [], None))
    rows.append(("A-IN", 102.521, 37.101, ["残疾"], None))
    lon, lat, _ = GEOD.fwd(102.521, 37.102, 0.0, 150.0)
    rows.append(("A-N150", lon, lat, [], None))
    add_households(session, world, rows)
    insert_hazard(session, "HZ-P", Point(POINT).wkt, kind="landslide", severity="high")
    insert_hazard(session, "HZ-A", SQUARE.wkt, kind="flood", radius=300.0)
    return world


def geod_to_polygon(lon: float, lat: float, polygon: Polygon) -> float:
    """Geodesic distance (m) from a point to a polygon's boundary, 0 inside.

    Independent of PostGIS: each edge is followed as a geodesic with pyproj and
    the nearest point found by golden-section search (edges are short, so the
    distance along one is unimodal).
    """
    if polygon.contains(Point(lon, lat)):
        return 0.0
    best = float("inf")
    coords = list(polygon.exterior.coords)
    for (x0, y0), (x1, y1) in itertools.pairwise(coords):
        az, _, length = GEOD.inv(x0, y0, x1, y1)

        def at(t: float, x0: float = x0, y0: float = y0, az: float = az,
               length: float = length) -> float:  # fmt: skip
            x, y, _ = GEOD.fwd(x0, y0, az, t * length)
            return float(GEOD.inv(lon, lat, x, y)[2])

        lo, hi = 0.0, 1.0
        ratio = (5**0.5 - 1) / 2
        for _ in range(80):
            a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
            if at(a) < at(b):
                hi = b
            else:
                lo = a
        best = min(best, at(lo), at(0.0), at(1.0))
    return best


def geod_to_point(lon: float, lat: float, point: tuple[float, float]) -> float:
    """Geodesic distance (m) between two points by pyproj."""
    return float(GEOD.inv(lon, lat, point[0], point[1])[2])


def any_value(rows: list[dict[str, Any]], key: str) -> set[Any]:
    """The set of ``key`` over rows."""
    return {r[key] for r in rows}
