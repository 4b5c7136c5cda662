"""The audit log: every unmasked read and every write, by whom, from where.

Rows are appended as the request's user under RLS (the policy checks the row
names the signed-in user); the service's role may not UPDATE or DELETE them and a
trigger refuses that even to the owner. Admins read their townships' entries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from gis_service.core.auth.models import AuditEntry
from gis_service.core.auth.scope import scope_of
from gis_service.core.db import atomic

_REQUEST_KEY = "gridgis_request"
ACTIONS = ("unmask", "write")


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
    """Append one entry for the signed-in user (nothing outside a request).

    Committed at once, before the response: an unmasked read whose entry cannot
    be written is not served.
    """
    principal = scope_of(session)
    if principal is None:
        return
    method, path, address = session.info.get(_REQUEST_KEY, ("", "", None))
    # No RETURNING: only admins may read entries back (the SELECT policy).
    with atomic(session):
        session.execute(
            insert(AuditEntry).values(
                user_id=principal.id,
                username=principal.username,
                role=principal.role,
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
