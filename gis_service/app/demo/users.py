"""One demo user per role, with fresh passwords each time the demo starts."""

from __future__ import annotations

import secrets

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis_service.core.auth.models import User
from gis_service.core.auth.users import add_user, reset_password

_FIRST = text(
    """
    SELECT (SELECT code FROM grids WHERE township_code = :t AND depth = 1
            ORDER BY code LIMIT 1) AS grid,
           (SELECT c.code FROM cadres c JOIN household_assignments a
              ON a.township_code = c.township_code AND a.cadre_id = c.id
            WHERE c.township_code = :t ORDER BY c.code LIMIT 1) AS cadre
    """
)


def demo_users(session: Session, *, township: str) -> list[tuple[str, str, str]]:
    """(user name, role, password) of demo-admin, -leader, -cadre and -viewer."""
    first = session.execute(_FIRST, {"t": township}).one()
    scopes = {
        "demo-admin": ("admin", {"township": township}),
        "demo-leader": ("grid_leader", {"township": township, "grid": first.grid}),
        "demo-cadre": ("cadre", {"township": township, "cadre": first.cadre}),
        "demo-viewer": ("viewer", {"township": township}),
    }
    out = []
    for name, (role, scope) in scopes.items():
        password = secrets.token_urlsafe(9)
        if session.scalar(select(User.id).where(User.username == name)) is None:
            add_user(session, username=name, password=password, role=role, **scope)
        else:
            reset_password(session, username=name, password=password)
        out.append((name, role, password))
    return out
