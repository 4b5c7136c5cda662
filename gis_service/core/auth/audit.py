"""The audit log: every unmasked read and every write, by whom, from where.

Rows are appended as the request's user under RLS (the policy checks the row
names the signed-in user); the service's role may not UPDATE or DELETE them and a
trigger refuses that even to the owner. Admins read their townships' entries.
"""

from __future__ import annotations

import getpass
import socket
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from gis_service.core.auth.models import AuditEntry
from gis_service.core.auth.scope import scope_of
from gis_service.core.db import atomic

_REQUEST_KEY = "gridgis_request"
_CLI_KEY = "gridgis_cli"
ACTIONS = ("unmask", "write")
CLI_ROLE = "cli"  # an entry written by the command line, not by a signed-in user


def remember_cli(session: Session, *, command: str) -> None:
    """Make the command line the actor of this session's entries.

    The CLI has no signed-in user: it runs with the database owner's credentials
    (every row, no policy), so there is no role to check; what it unmasks is
    still written down, naming the operating-system account that ran it.
    """
    account = getpass.getuser()
    session.info[_CLI_KEY] = (f"cli:{account}"[:64], command, socket.gethostname()[:64])


def remember_request(session: Session, *, method: str, path: str, address: str) -> None:
    """Keep where the request came from, for the entries it writes."""
    session.info[_REQUEST_KEY] = (method, path, address)


def record(
    session: Session,
    *,
    action: str,
    township: str | None,
    rows: dict[str, Any],
    status: int | None = None,
) -> None:
    """Append one entry for the signed-in user, or the CLI (``remember_cli``).

    Nothing outside a request or a CLI command that asked for it.

    Committed at once, before the response: an unmasked read whose entry cannot
    be written is not served.
    """
    principal = scope_of(session)
    cli = session.info.get(_CLI_KEY)
    if principal is not None:
        user_id, username, role = principal.id, principal.username, principal.role
        method, path, address = session.info.get(_REQUEST_KEY, ("", "", None))
    elif cli is not None:
        (username, path, address), user_id, role, method = cli, None, CLI_ROLE, "CLI"
    else:
        return
    # No RETURNING: only admins may read entries back (the SELECT policy).
    with atomic(session):
        session.execute(
            insert(AuditEntry).values(
                user_id=user_id,
                username=username,
                role=role,
                action=action,
                method=method,
                path=path,
                township_code=township,
                status=status,
                rows=rows,
                address=address,
            )
        )


def entry_out(entry: AuditEntry) -> dict[str, Any]:
    """An entry as the API and CLI show it."""
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "user": entry.username,
        "role": entry.role,
        "action": entry.action,
        "method": entry.method,
        "path": entry.path,
        "township": entry.township_code,
        "status": entry.status,
        "rows": entry.rows,
        "address": entry.address,
    }


def list_entries(
    session: Session,
    *,
    township: str | None = None,
    user: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The newest entries first (an admin's query sees their townships only)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if township:
        query = query.where(AuditEntry.township_code == township)
    if user:
        query = query.where(AuditEntry.username == user)
    if action:
        query = query.where(AuditEntry.action == action)
    if since:
        query = query.where(AuditEntry.at >= since)
    return [entry_out(e) for e in session.scalars(query)]
