"""Put a request's scope into PostgreSQL, where row-level security enforces it.

Every transaction a signed-in request begins runs as its role's service role
(``gridgis_wide``, ``gridgis_leader``, ``gridgis_cadre``; ``gridgis_county`` and
``gridgis_all`` for admins and viewers of several or all townships: roles that own
nothing and cannot bypass RLS) with the user's scope in per-transaction settings;
the policies of migrations 0081, 0083, 0084 and 0170 read them. So a query that
forgets a filter still returns only rows in scope, and an out-of-scope id is simply
not found (404).
Settings are transaction-local: a pooled connection carries nothing over to the
next request.

The service logs in as ``gridgis_service`` (migration 0140), which owns nothing
and reads nothing on its own: a ``RESET ROLE`` or a transaction begun without a
scope sees no township data. System work a request sets off (``unscoped``) runs
as ``gridgis_system``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress

from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gis_service.core import pending
from gis_service.core.auth.principal import Principal
from gis_service.core.db import SERVICE_SESSION, at_begin

APP_ROLE = "gridgis_app"
SYSTEM_ROLE = "gridgis_system"
WIDE_ROLE = "gridgis_wide"
COUNTY_ROLE = "gridgis_county"
ALL_ROLE = "gridgis_all"
# each user role's own database role, whose policies state that role's rule alone
# (migrations 0083, 0084: one OR-ed policy for all misled the planner); their
# township test is an equality with the one township of the scope (0170)
SERVICE_ROLES = {
    "admin": WIDE_ROLE,
    "viewer": WIDE_ROLE,
    "grid_leader": "gridgis_leader",
    "cadre": "gridgis_cadre",
}
# an admin or viewer of several townships (a county), or of all (0170)
SCOPE_ROLES = (APP_ROLE, *dict.fromkeys(SERVICE_ROLES.values()), COUNTY_ROLE, ALL_ROLE)
_SCOPE_KEY = "gridgis_scope"
_UNSCOPED_KEY = "gridgis_unscoped"

# what clear_scope leaves: the login's own role, no scope
_CLEARED = {
    "role": "none",
    "gridgis.user_id": "",
    "gridgis.username": "",
    "gridgis.role": "",
    "gridgis.townships": "",
    "gridgis.grid_ids": "",
    "gridgis.cadre_id": "",
}


def _set(session: Session, settings: Mapping[str, str]) -> None:
    """Transaction-local settings, sent with the session's next statement."""
    pending.defer(session.connection(), settings)


def _settings(principal: Principal, role: str) -> dict[str, str]:
    """A scope's role and settings by name (every transaction of it starts so)."""
    cadre = principal.cadre_id
    return {
        "role": role,
        "gridgis.user_id": str(principal.id),
        "gridgis.username": principal.username,
        "gridgis.role": principal.role,
        "gridgis.townships": "*"
        if principal.all_townships
        else ",".join(principal.townships),
        "gridgis.grid_ids": ",".join(map(str, principal.grid_ids)),
        "gridgis.cadre_id": "" if cadre is None else str(cadre),
    }


def service_role(principal: Principal) -> str:
    """The database role a user's requests run as (all own nothing, bypass no RLS).

    A township-wide user of more than one township, or of all of them, has a role
    of their own: the other roles' policies test one township by equality.
    """
    role = SERVICE_ROLES.get(principal.role, APP_ROLE)
    if role == WIDE_ROLE and principal.all_townships:
        return ALL_ROLE
    if role == WIDE_ROLE and len(principal.townships) > 1:
        return COUNTY_ROLE
    return role


def _role(session: Session) -> str:
    if session.info.get(_UNSCOPED_KEY):
        return SYSTEM_ROLE
    principal: Principal | None = session.info.get(_SCOPE_KEY)
    return service_role(principal) if principal is not None else APP_ROLE


def apply_scope(session: Session, principal: Principal) -> None:
    """Scope this session's transactions (the current one and every later one).

    Inside ``unscoped`` (sign-in: the user's row is read as the system role) the
    current transaction takes the scope when that block ends, in the same
    statement that gives up the system role: a round trip less per request.
    """
    session.info[_SCOPE_KEY] = principal
    if session.in_transaction() and not session.info.get(_UNSCOPED_KEY):
        _set(session, _settings(principal, _role(session)))


def clear_scope(session: Session, *, closing: bool = False) -> None:
    """Forget the scope (at the end of a request, or of a job's scoped part).

    ``closing``: the caller closes the session next (a request's own session),
    so an engine-bound one's settings go with the transaction the close rolls
    back, and no statement is needed (every request would pay for one). A
    session that goes on (a job reading its ledger) or is bound to an outer
    connection (tests, a replica's connection), where what was set in a
    released savepoint lives on, is reset.
    """
    needed = clearing_needs_statement(session, closing=closing)
    if session.info.pop(_SCOPE_KEY, None) is None or not needed:
        return
    with suppress(SQLAlchemyError):  # a failed transaction: its rollback resets
        _set(session, _CLEARED)


def clearing_needs_statement(session: Session, *, closing: bool = False) -> bool:
    """Whether ``clear_scope`` will run a statement (else it does no I/O)."""
    if session.info.get(_SCOPE_KEY) is None:
        return False
    if closing and not isinstance(session.bind, Connection):
        return False
    return session.in_transaction() or isinstance(session.bind, Connection)


def scope_of(session: Session) -> Principal | None:
    """The principal this session is scoped to, if any."""
    principal: Principal | None = session.info.get(_SCOPE_KEY)
    return principal


@at_begin
def _scope_new_transaction(session: Session) -> Mapping[str, str]:
    """Each transaction a scoped session begins gets the role and settings again.

    Set with the session's other settings in one statement (``core.db``).
    """
    principal: Principal | None = session.info.get(_SCOPE_KEY)
    if principal is not None:
        return _settings(principal, _role(session))
    if session.info.get(_UNSCOPED_KEY):
        return {"role": SYSTEM_ROLE}
    return {}


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
        _set(session, {"role": SYSTEM_ROLE})
    try:
        yield
    finally:
        session.info[_UNSCOPED_KEY] = depth
        if not depth and session.in_transaction():
            with suppress(SQLAlchemyError):  # a failed one rolls back anyway
                _leave_system_role(session)


def _leave_system_role(session: Session) -> None:
    """After system work: the scope's role and settings, else the login's own."""
    principal: Principal | None = session.info.get(_SCOPE_KEY)
    if principal is None:
        _set(session, {"role": "none"})
    else:  # the settings too: apply_scope inside the block left them to here
        _set(session, _settings(principal, _role(session)))
