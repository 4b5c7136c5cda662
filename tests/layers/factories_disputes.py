"""Parcels with known overlaps for the dispute tests, written through plain SQL.

Layout (degrees; 0.01° ≈ 888 m east-west × 1110 m north-south here):

    P3 | P1 |        P1 [102.500, 102.510] × [37.100, 37.110]   holder H1
       |  P2|  P6    P2 [102.508, 102.518] × [37.100, 37.110]   holder H2 (dispute P1)
    P5 under P1      P3 [102.490, 102.500] × [37.100, 37.110]   holder H3 (touches P1)
    P4 over P1       P4 [102.500, 102.506] × [37.10999, 37.116] holder H3 (1 m sliver)
                     P5 [102.500, 102.506] × [37.091, 37.101]   holder H1 (self-overlap)
                     P6 bow-tie over P2's east edge             holder H3 (dispute P2)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from pyproj import Geod
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from grids.assignment.store import assign_to
from tests.factories import (
    TOWNSHIP,
    ewkt,
    make_cadre,
    make_grid,
    make_households,
    make_township,
    square,
)

GEOD = Geod(ellps="WGS84")
BOWTIE = Polygon(
    [(102.515, 37.102), (102.525, 37.108), (102.525, 37.102), (102.515, 37.108)]
)


def rect(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """An axis-aligned rectangle in degrees."""
    return Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])


def geodesic_area(geom: BaseGeometry) -> float:
    """Area in m² on the WGS84 ellipsoid by pyproj (independent of PostGIS)."""
    area, _ = GEOD.geometry_area_perimeter(geom)
    return abs(area)


def make_parcels(
    session: Session,
    rows: Sequence[tuple[str, BaseGeometry, int | None, float | None]],
    *,
    township: str = TOWNSHIP,
) -> list[int]:
    """Insert (contract_no, geometry, holder id, contract mu) rows in one statement."""
    payload = [
        {"t": township, "no": no, "g": ewkt(geom), "h": holder, "mu": mu}
        for no, geom, holder, mu in rows
    ]
    ids = session.execute(
        text(
            """
            INSERT INTO pasture_parcels (township_code, contract_no,
                                         holder_household_id, contract_area_mu, geom)
            SELECT r.t, r.no, r.h, r.mu, ST_GeomFromEWKT(r.g)
            FROM jsonb_to_recordset(CAST(:rows AS jsonb))
                 AS r(t text, no text, g text, h bigint, mu numeric)
            RETURNING id
            """
        ),
        {"rows": json.dumps(payload)},
    ).scalars()
    out = [int(i) for i in ids]
    session.commit()
    return out


def move_parcel(session: Session, parcel_id: int, geom: BaseGeometry) -> None:
    """Redraw one parcel (a corrected survey)."""
    session.execute(
        text("UPDATE pasture_parcels SET geom = ST_GeomFromEWKT(:g) WHERE id = :id"),
        {"g": ewkt(geom), "id": parcel_id},
    )
    session.commit()


def set_holder(session: Session, parcel_id: int, holder: int | None) -> None:
    """Give a parcel another holder (a transfer)."""
    session.execute(
        text("UPDATE pasture_parcels SET holder_household_id = :h WHERE id = :id"),
        {"h": holder, "id": parcel_id},
    )
    session.commit()


@dataclass
class Pasture:
    """Ids of the hand-built township."""

    households: dict[str, int]
    grids: dict[str, int]
    cadres: dict[str, int]
    parcels: dict[str, int]
    shapes: dict[str, BaseGeometry]


SHAPES: dict[str, BaseGeometry] = {
    "P1": rect(102.500, 37.100, 102.510, 37.110),
    "P2": rect(102.508, 37.100, 102.518, 37.110),
    "P3": rect(102.490, 37.100, 102.500, 37.110),
    "P4": rect(102.500, 37.10999, 102.506, 37.116),
    "P5": rect(102.500, 37.091, 102.506, 37.101),
    "P6": BOWTIE,
}
HOLDERS = {"P1": "H1", "P2": "H2", "P3": "H3", "P4": "H3", "P5": "H1", "P6": "H3"}


def make_pasture(session: Session, *, township: str = TOWNSHIP) -> Pasture:
    """Two grids, two cadres, three households (H3 not yet assigned), six parcels."""
    make_township(session, township)
    grids = {
        "G1": make_grid(session, "G1", square(102.48, 37.08, 0.03), township=township),
        "G2": make_grid(session, "G2", square(102.51, 37.08, 0.03), township=township),
    }
    cadres = {
        "C1": make_cadre(session, "C1", grid="G1", township=township),
        "C2": make_cadre(session, "C2", grid="G2", township=township),
    }
    ids = make_households(
        session,
        [(102.505, 37.105), (102.513, 37.105), (102.495, 37.105)],
        township=township,
        id_number="620623199001011234",
        phone="13812345678",
    )
    households = {f"H{i + 1}": hid for i, hid in enumerate(ids)}
    for k in ("1", "2"):
        assign_to(
            session,
            township=township,
            household_ids=[households[f"H{k}"]],
            grid_id=grids[f"G{k}"],
            cadre_id=cadres[f"C{k}"],
        )
    session.commit()
    contract = {"P1": geodesic_area(SHAPES["P1"]) / (10_000 / 15), "P2": 2000.0}
    parcel_ids = make_parcels(
        session,
        [
            (f"{township}-{name}", shape, households[HOLDERS[name]], contract.get(name))
            for name, shape in SHAPES.items()
        ],
        township=township,
    )
    parcels = dict(zip(SHAPES, parcel_ids, strict=True))
    return Pasture(households, grids, cadres, parcels, dict(SHAPES))
