"""Hand-built township for the map tests: two leaf grids under a root, households
in every status, visits at known ages, hazards, and two parcels in dispute.

Known answers at AS_OF (see STATUS): A (cadre C1) holds H001..H004 and H008, B
(cadre C2) holds H005;
H006 is unassigned inside B, H007 unassigned outside every grid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from grids.assignment.store import upsert_assignments
from tests.factories import (
    TOWNSHIP,
    ewkt,
    make_cadre,
    make_grid,
    make_households,
    make_township,
    square,
)

AS_OF = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
PHONE = "13812345678"
ID_NUMBER = "620623199001011234"
# code -> (lon, lat, tags, grid, days since last visit or None)
HOUSEHOLDS = {
    "H001": (102.002, 37.002, [], "A", 10),
    "H002": (102.004, 37.002, [], "A", 100),
    "H003": (102.006, 37.002, ["脱贫不稳定户"], "A", 40),
    "H004": (102.008, 37.002, ["低保"], "A", 40),
    "H005": (102.012, 37.004, [], "B", None),
    "H006": (102.016, 37.006, ["空巢老人"], None, None),
    "H007": (102.050, 37.050, [], None, None),
    "H008": (102.002, 37.008, [], "A", -5),  # only a visit after AS_OF
}
STATUS = {
    "H001": "visited", "H002": "overdue", "H003": "overdue", "H004": "visited",
    "H005": "never_visited", "H006": "unassigned", "H007": "unassigned",
    "H008": "never_visited",
}  # fmt: skip
PRIORITY = {"H003", "H004", "H006"}


@dataclass
class MapTownship:
    """Ids of the built rows."""

    households: dict[str, int]
    grids: dict[str, int]
    cadre: int
    dispute: int
    closed_dispute: int


def build_map_township(session: Session) -> MapTownship:
    """Write the township above; commits like the shared factories."""
    make_township(session)
    grids = {
        "ROOT": make_grid(session, "ROOT", square(102.0, 37.0, 0.02), level="core")
    }
    grids["A"] = make_grid(session, "A", square(102.0, 37.0, 0.01), parent="ROOT")
    grids["B"] = make_grid(session, "B", square(102.01, 37.0, 0.01), parent="ROOT")
    cadre = make_cadre(session, "C1", grid="A", base=(102.0, 37.0))
    cadre_b = make_cadre(session, "C2", grid="B", base=(102.01, 37.0))
    codes = list(HOUSEHOLDS)
    ids = make_households(
        session,
        [HOUSEHOLDS[c][:2] for c in codes],
        tags=[HOUSEHOLDS[c][2] for c in codes],
        phone=PHONE,
        id_number=ID_NUMBER,
    )
    households = dict(zip(codes, ids, strict=True))
    assigned = pd.DataFrame(
        [
            (households[c], grids[v[3]], cadre if v[3] == "A" else cadre_b)
            for c, v in HOUSEHOLDS.items()
            if v[3]
        ],
        columns=["household_id", "grid_id", "cadre_id"],
    )
    upsert_assignments(session, township=TOWNSHIP, rows=assigned)
    visits = [
        {"h": households[c], "at": (AS_OF - timedelta(days=v[4])).isoformat()}
        for c, v in HOUSEHOLDS.items()
        if v[4] is not None
    ]
    # an older visit too, so "last" must be the max
    visits.append(
        {"h": households["H001"], "at": (AS_OF - timedelta(days=200)).isoformat()}
    )
    session.execute(
        text(
            """
            INSERT INTO visits (township_code, household_id, cadre_id, visited_at)
            SELECT :t, r.h, :c, r.at FROM jsonb_to_recordset(CAST(:rows AS jsonb))
                 AS r(h bigint, at timestamptz)
            """
        ),
        {"rows": json.dumps(visits), "t": TOWNSHIP, "c": cadre},
    )
    session.execute(
        text(
            """
            INSERT INTO hazards (township_code, code, kind, status, found_at, geom,
                                 warn_radius_m)
            VALUES (:t, 'HZ1', 'fire', 'found', :at, ST_GeomFromEWKT(:g1), 300),
                   (:t, 'HZ2', 'flood', 'closed', :at, ST_GeomFromEWKT(:g2), 200)
            """
        ),
        {"t": TOWNSHIP, "at": AS_OF, "g1": "SRID=4326;POINT(102.005 37.006)",
         "g2": "SRID=4326;POINT(102.015 37.002)"},
    )  # fmt: skip
    dispute, closed = _disputes(session, households)
    session.commit()
    return MapTownship(households, grids, cadre, dispute, closed)


def _disputes(session: Session, households: dict[str, int]) -> tuple[int, int]:
    """P1 (H001) and P2 (H002) overlap by 0.001° x 0.002°; P3 overlaps P1 too."""
    parcels = {
        "P1": (square(102.000, 37.010, 0.004), "H001"),
        "P2": (square(102.003, 37.010, 0.004), "H002"),
        "P3": (square(102.000, 37.013, 0.004), "H003"),
    }
    ids = {}
    for no, (geom, holder) in parcels.items():
        ids[no] = session.execute(
            text(
                """
                INSERT INTO pasture_parcels (township_code, contract_no,
                       holder_household_id, contract_area_mu, geom)
                VALUES (:t, :no, :h, 100, ST_GeomFromEWKT(:g)) RETURNING id
                """
            ),
            {"t": TOWNSHIP, "no": no, "h": households[holder], "g": ewkt(geom)},
        ).scalar_one()
    out = []
    for a, b, status in (("P1", "P2", "open"), ("P1", "P3", "resolved")):
        out.append(
            session.execute(
                text(
                    """
                    INSERT INTO disputes (township_code, parcel_a_id, parcel_b_id,
                                          status, overlap, overlap_area_m2)
                    SELECT :t, a.id, b.id, :s,
                           ST_Multi(ST_Intersection(a.geom, b.geom)),
                           ST_Area(ST_Intersection(a.geom, b.geom)::geography)
                    FROM pasture_parcels a, pasture_parcels b
                    WHERE a.id = :a AND b.id = :b RETURNING id
                    """
                ),
                {"t": TOWNSHIP, "a": ids[a], "b": ids[b], "s": status},
            ).scalar_one()
        )
    return int(out[0]), int(out[1])
