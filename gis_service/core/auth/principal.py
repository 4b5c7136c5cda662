"""The signed-in user of a request and the rows their scope reaches."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from gis_service.core.auth.models import User
from gis_service.core.errors import Unauthorized
from gis_service.core.prepared import Prepared, execute, prepare

# The townships, the grid subtree and the cadre a scope reaches, as columns; the
# scope's codes are bound parameters or, in _USER_SCOPE, the user row's columns
# (constants of this module, never request text).
_SCOPE_COLUMNS = """
      ARRAY(SELECT t.code FROM townships t
            WHERE (CAST({township} AS text) IS NULL AND CAST({county} AS text) IS NULL)
               OR t.code = {township} OR t.county = {county}
            ORDER BY t.code) AS townships,
      (SELECT c.id FROM cadres c WHERE c.township_code = {township}
         AND c.code = {cadre}) AS cadre_id,
      (SELECT c.home_grid_id FROM cadres c WHERE c.township_code = {township}
         AND c.code = {cadre}) AS cadre_grid_id,
      ARRAY(SELECT g.id FROM grids g JOIN grids top
              ON top.township_code = g.township_code
             AND g.path LIKE top.path || '%'
            WHERE top.township_code = {township} AND top.code = {grid}
            UNION
            SELECT c.home_grid_id FROM cadres c
            WHERE c.township_code = {township} AND c.code = {cadre}
              AND c.home_grid_id IS NOT NULL
            UNION
            SELECT a.grid_id FROM household_assignments a JOIN cadres c
              ON c.township_code = a.township_code AND c.id = a.cadre_id
            WHERE a.township_code = {township} AND c.code = {cadre}
              AND a.grid_id IS NOT NULL) AS grid_ids
"""
_SCOPE = text(
    "SELECT "
    + _SCOPE_COLUMNS.format(
        township=":township", county=":county", grid=":grid", cadre=":cadre"
    )
)
# A request's user and their scope in one round trip (every request makes it).
_USER_SCOPE = text(
    """
    SELECT u.id, u.username, u.role, u.township_code, u.county, u.grid_code,
           u.cadre_code, u.disabled, u.locked_at, u.token_version,
    """
    + _SCOPE_COLUMNS.format(
        township="u.township_code",
        county="u.county",
        grid="u.grid_code",
        cadre="u.cadre_code",
    )
    + " FROM users u WHERE u.id = :uid"
)


@cache
def _user_scope(dialect: Dialect) -> Prepared:
    return prepare(_USER_SCOPE, dialect)


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
    return _principal(user, row, via=via, csrf=csrf)


def resolve_token_user(
    session: Session, *, user_id: int, version: int, via: str, csrf: str | None
) -> Principal:
    """The user a token names, scope resolved, in one statement; else a 401.

    The same checks as ``users.active_user`` (enabled, unlocked, not reset since
    the token was issued), read fresh on every request: nothing is cached, so a
    disable, lock or reset takes effect on the next request.
    """
    # on the connection: the ORM's execute machinery was most of this call's
    # cost; prepared: planning the scope's subqueries was most of PostgreSQL's
    conn = session.connection()
    row = execute(conn, _user_scope(conn.dialect), {"uid": user_id}).first()
    if (
        row is None
        or row.disabled
        or row.locked_at is not None
        or row.token_version != version
    ):
        raise Unauthorized("the token is no longer valid; sign in again")
    return _principal(row, row, via=via, csrf=csrf)


def _principal(user: Any, row: Any, *, via: str, csrf: str | None) -> Principal:
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
