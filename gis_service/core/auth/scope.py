"""Put a request's scope into PostgreSQL, where row-level security enforces it.

Every transaction a signed-in request begins runs as its role's service role
(``gridgis_wide``, ``gridgis_leader``, ``gridgis_cadre``: roles that own nothing and
cannot bypass RLS) with the user's scope in per-transaction settings; the policies of
migrations 0081, 0083 and 0084 read them. So a query that forgets a filter still
returns only rows in scope, and an out-of-scope id is simply not found (404).
Settings are transaction-local: a pooled connection carries nothing over to the
next request.

The service logs in as ``gridgis_service`` (migration 0140), which owns nothing
and reads nothing on its own: a ``RESET ROLE`` or a transaction begun without a
scope sees no township data. System work a request sets off (``unscoped``) runs
as ``gridgis_system``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

from gis_service.core.auth.principal import Principal
from gis_service.core.db import SERVICE_SESSION

APP_ROLE = "gridgis_app"
SYSTEM_ROLE = "gridgis_system"
WIDE_ROLE = "gridgis_wide"
# each user role's own database role, whose policies state that role's rule alone
# (migrations 0083, 0084: one OR-ed policy for all misled the planner)
SERVICE_ROLES = {
    "admin": WIDE_ROLE,
    "viewer": WIDE_ROLE,
    "grid_leader": "gridgis_leader",
    "cadre": "gridgis_cadre",
}
_SCOPE_KEY = "gridgis_scope"
_UNSCOPED_KEY = "gridgis_unscoped"

_APPLY = text(
    """
    SELECT set_config('role', :role, true), set_config('gridgis.user_id', :uid, true),
           set_config('gridgis.username', :name, true),
           set_config('gridgis.role', :user_role, true),
           set_config('gridgis.townships', :townships, true),
           set_config('gridgis.grid_ids', :grids, true),
           set_config('gridgis.cadre_id', :cadre, true)
    """
)
_CLEAR = text(
    """
    SELECT set_config('role', 'none', true), set_config('gridgis.user_id', '', true),
           set_config('gridgis.username', '', true),
           set_config('gridgis.role', '', true),
           set_config('gridgis.townships', '', true),
           set_config('gridgis.grid_ids', '', true),
           set_config('gridgis.cadre_id', '', true)
    """
)
_ROLE = text("SELECT set_config('role', :role, true)")


def _parameters(principal: Principal, role: str) -> dict[str, Any]:
    return {
        "role": role,
        "uid": str(principal.id),
        "name": principal.username,
        "user_role": principal.role,
        "townships": "*" if principal.all_townships else ",".join(principal.townships),
        "grids": ",".join(map(str, principal.grid_ids)),
        "cadre": "" if principal.cadre_id is None else str(principal.cadre_id),
    }


def service_role(principal: Principal) -> str:
    """The database role a user's requests run as (both own nothing, bypass no RLS)."""
    return SERVICE_ROLES.get(principal.role, APP_ROLE)


def _role(session: Session) -> str:
    if session.info.get(_UNSCOPED_KEY):
        return SYSTEM_ROLE
    principal: Principal | None = session.info.get(_SCOPE_KEY)
    return service_role(principal) if principal is not None else APP_ROLE


def apply_scope(session: Session, principal: Principal) -> None:
    """Scope this session's transactions (the current one and every later one)."""
    session.info[_SCOPE_KEY] = principal
    if session.in_transaction():
        session.execute(_APPLY, _parameters(principal, _role(session)))


def clear_scope(session: Session, *, closing: bool = False) -> None:
    """Forget the scope (at the end of a request, or of a job's scoped part).

    ``closing``: the caller closes the session next (a request's own session),
    so an engine-bound one's settings go with the transaction the close rolls
    back, and no statement is needed (every request would pay for one). A
    session that goes on (a job reading its ledger) or is bound to an outer
    connection (tests, a replica's connection), where what was set in a
    released savepoint lives on, is reset.
    """
    if session.info.pop(_SCOPE_KEY, None) is None:
        return
    if closing and not isinstance(session.bind, Connection):
        return
    if session.in_transaction() or isinstance(session.bind, Connection):
        # a failed transaction: its rollback resets everything anyway
        with suppress(SQLAlchemyError):
            session.execute(_CLEAR)


def scope_of(session: Session) -> Principal | None:
    """The principal this session is scoped to, if any."""
    principal: Principal | None = session.info.get(_SCOPE_KEY)
    return principal


@event.listens_for(Session, "after_begin")
def _scope_new_transaction(
    session: Session, transaction: SessionTransaction, connection: Connection
) -> None:
    """Each transaction a scoped session begins gets the role and settings again."""
    principal = session.info.get(_SCOPE_KEY)
    if principal is not None:
        connection.execute(_APPLY, _parameters(principal, _role(session)))
    elif session.info.get(_UNSCOPED_KEY):
        connection.execute(_ROLE, {"role": SYSTEM_ROLE})


@contextmanager
def unscoped(session: Session) -> Iterator[None]:
    """Run system work that must see the whole township, as ``gridgis_system``.

    For derived data the caller's edit implies (re-running the assignment after a
    grid leader moved a household), for DDL (a township's first import builds a
    partition) and for sign-in (the user's row, before there is a scope). The
    caller has been authorised before. A session of the owner's outside a request
    (CLI, tests, the demo) sees everything already: there it does nothing.
    """
    if session.info.get(_SCOPE_KEY) is None and not session.info.get(SERVICE_SESSION):
        yield
        return
    depth: int = session.info.get(_UNSCOPED_KEY, 0)
    session.info[_UNSCOPED_KEY] = depth + 1
    if session.in_transaction():
        session.execute(_ROLE, {"role": SYSTEM_ROLE})
    try:
        yield
    finally:
        session.info[_UNSCOPED_KEY] = depth
        if not depth and session.in_transaction():
            with suppress(SQLAlchemyError):  # a failed one rolls back anyway
                session.execute(_ROLE, {"role": _outside(session)})


def _outside(session: Session) -> str:
    """The role after system work: the scope's, else the login's own (``none``)."""
    if session.info.get(_SCOPE_KEY) is None:
        return "none"
    return _role(session)
