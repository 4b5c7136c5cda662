"""The signed-in user of a request and the rows their scope reaches."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.auth.models import User

# One statement: the townships, the grid subtree and the cadre a scope reaches.
_SCOPE = text(
    """
    SELECT
      ARRAY(SELECT t.code FROM townships t
            WHERE (CAST(:township AS text) IS NULL AND CAST(:county AS text) IS NULL)
               OR t.code = :township OR t.county = :county
            ORDER BY t.code) AS townships,
      (SELECT c.id FROM cadres c WHERE c.township_code = :township
         AND c.code = :cadre) AS cadre_id,
      (SELECT c.home_grid_id FROM cadres c WHERE c.township_code = :township
         AND c.code = :cadre) AS cadre_grid_id,
      ARRAY(SELECT g.id FROM grids g JOIN grids top
              ON top.township_code = g.township_code
             AND g.path LIKE top.path || '%'
            WHERE top.township_code = :township AND top.code = :grid
            UNION
            SELECT c.home_grid_id FROM cadres c
            WHERE c.township_code = :township AND c.code = :cadre
              AND c.home_grid_id IS NOT NULL
            UNION
            SELECT a.grid_id FROM household_assignments a JOIN cadres c
              ON c.township_code = a.township_code AND c.id = a.cadre_id
            WHERE a.township_code = :township AND c.code = :cadre
              AND a.grid_id IS NOT NULL) AS grid_ids
    """
)


@dataclass(frozen=True)
class Principal:
    """Who is asking, with their scope resolved to ids for this request."""

    id: int
    username: str
    role: str
    township: str | None
    county: str | None
    grid_code: str | None
    cadre_code: str | None
    via: str  # "bearer" or "cookie"
    townships: tuple[str, ...]  # every township the scope touches
    all_townships: bool  # the installation's first admin: no scope limit
    cadre_id: int | None
    cadre_grid_id: int | None
    grid_ids: tuple[int, ...]  # grids a grid leader or cadre may see
    csrf: str | None = None

    @property
    def name(self) -> str:
        """Who acted, as workflow records name them (the user name)."""
        return self.username

    @property
    def is_admin(self) -> bool:
        """Admins import, run assignments and detections, and read the audit log."""
        return self.role == "admin"

    def reaches(self, township: str) -> bool:
        """Whether the scope includes a township at all."""
        return self.all_townships or township in self.townships


def resolve(
    session: Session, user: User, *, via: str, csrf: str | None = None
) -> Principal:
    """Resolve a user's scope (codes) to what this request's queries need (ids)."""
    row = session.execute(
        _SCOPE,
        {
            "township": user.township_code,
            "county": user.county,
            "grid": user.grid_code,
            "cadre": user.cadre_code,
        },
    ).one()
    everything = user.role == "admin" and not (user.township_code or user.county)
    return Principal(
        id=user.id,
        username=user.username,
        role=user.role,
        township=user.township_code,
        county=user.county,
        grid_code=user.grid_code,
        cadre_code=user.cadre_code,
        via=via,
        townships=tuple(row.townships),
        all_townships=everything,
        cadre_id=row.cadre_id,
        cadre_grid_id=row.cadre_grid_id,
        grid_ids=tuple(sorted(row.grid_ids)),
        csrf=csrf,
    )
