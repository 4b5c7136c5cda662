"""Two townships and one user per role, for the role x endpoint matrix.

Township A (``TOWNSHIP``): grid tree R > A (H001-H004), B (H005-H006); cadre C1
has H001-H003, C3 has H004 (both grid A), C2 has H005-H006 (grid B). Township B
(``OTHER_TOWNSHIP``) reuses the codes: grid A, cadre C1, households H001-H002, so
only the township tells them apart. Each household has one visit by its cadre
and one open demand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.auth import tokens
from gis_service.core.auth.passwords import hash_password
from tests.conftest import app_settings
from tests.factories import (
    OTHER_TOWNSHIP,
    TOWNSHIP,
    make_cadre,
    make_grid,
    make_households,
    make_township,
    square,
)
from tests.grids.factories_visits import assign, make_town

PASSWORD = "scope-test-password"
_HASH = hash_password(PASSWORD)  # once: Argon2 is slow on purpose
ID_NUMBER = "620623198001011234"
PHONE = "13812345678"

# user name -> (role, township, county, grid, cadre)
USERS = {
    "admin_a": ("admin", TOWNSHIP, None, None, None),
    "leader_a": ("grid_leader", TOWNSHIP, None, "A", None),
    "cadre_c1": ("cadre", TOWNSHIP, None, None, "C1"),
    "viewer_a": ("viewer", TOWNSHIP, None, None, None),
    "admin_b": ("admin", OTHER_TOWNSHIP, None, None, None),
}
# which households of township A each user reaches
IN_SCOPE = {
    "admin_a": {"H001", "H002", "H003", "H004", "H005", "H006"},
    "leader_a": {"H001", "H002", "H003", "H004"},
    "cadre_c1": {"H001", "H002", "H003"},
    "admin_b": set(),
}


@dataclass
class World:
    headers: dict[str, dict[str, str]]
    households: dict[str, int]
    cadres: dict[str, int]
    grids: dict[str, int]
    demands: dict[str, int]


def make_world(session: Session) -> World:
    """Build both townships and sign in one user per role."""
    town = make_town(session)
    session.execute(
        text(
            "UPDATE households SET id_number = :i, phone = :p WHERE township_code = :t"
        ),
        {"i": ID_NUMBER, "p": PHONE, "t": TOWNSHIP},
    )
    c3 = make_cadre(session, "C3", grid="A", base=(102.503, 37.101))
    assign(session, [town.households["H004"]], grid=town.grids["A"], cadre=c3)
    town.cadres["C3"] = c3
    make_township(session, OTHER_TOWNSHIP, name="另一镇")
    make_grid(session, "A", square(102.49, 37.09, 0.015), township=OTHER_TOWNSHIP)
    make_cadre(session, "C1", grid="A", township=OTHER_TOWNSHIP)
    make_households(session, [(102.5, 37.1), (102.501, 37.1)], township=OTHER_TOWNSHIP)
    session.execute(
        text(
            """
            INSERT INTO visits (township_code, household_id, cadre_id, visited_at)
            SELECT a.township_code, a.household_id, a.cadre_id, now() - interval '1 day'
            FROM household_assignments a WHERE a.cadre_id IS NOT NULL
            """
        )
    )
    demands = dict(
        session.execute(
            text(
                """
                INSERT INTO demands (township_code, household_id, category,
                                     description, owner_cadre_id)
                SELECT h.township_code, h.id, 'other', 'demand of ' || h.code,
                       a.cadre_id
                FROM households h JOIN household_assignments a
                  ON a.township_code = h.township_code AND a.household_id = h.id
                WHERE h.township_code = :t
                RETURNING (SELECT code FROM households x WHERE x.township_code = :t
                           AND x.id = household_id), id
                """
            ),
            {"t": TOWNSHIP},
        ).all()
    )
    session.execute(
        text(
            """
            INSERT INTO users (username, role, township_code, county, grid_code,
                               cadre_code, password_hash)
            SELECT r.name, r.role, r.township, r.county, r.grid, r.cadre, :h
            FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(name text, role text,
                 township text, county text, grid text, cadre text)
            """
        ),
        {
            "h": _HASH,
            "rows": json.dumps(
                [
                    dict(
                        zip(
                            ("role", "township", "county", "grid", "cadre"),
                            v,
                            strict=True,
                        )
                    )
                    | {"name": k}
                    for k, v in USERS.items()
                ]
            ),
        },
    )
    session.commit()
    ids = dict(
        session.execute(
            text("SELECT username, id FROM users WHERE username = ANY(:n)"),
            {"n": list(USERS)},
        ).all()
    )
    settings = app_settings("postgresql://unused")
    headers = {
        name: {
            "Authorization": "Bearer "
            + tokens.issue(settings, user_id=uid, version=0, kind="access")[0]
        }
        for name, uid in ids.items()
    }
    return World(headers, town.households, town.cadres, town.grids, demands)
