"""The hazard ledger (排查–整改–销号): list, show, move, re-check, overdue.

Status moves only through ``HAZARD_FLOW`` (found → rectifying → closed, closing
needs a note); every step and re-check is an event with who, when, a note and
attachment URLs. Import and PATCH refuse a changed status (``LayerSpec.workflow``).
Cadre phones are masked on the way out.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from gis_service.core.db import atomic
from gis_service.core.errors import Conflict, InvalidInput, NotFound
from gis_service.core.geojson import feature
from gis_service.core.inputs import china_today
from gis_service.core.privacy import mask_phone
from gis_service.core.settings import HazardSettings
from gis_service.core.sql_files import load_queries
from gis_service.core.townships import require_township
from grids.tree.scope import grid_path as subtree_path
from layers.hazards.schemas import (
    CadreRef,
    HazardDetailOut,
    HazardEventOut,
    HazardList,
    HazardOut,
)
from layers.hazards.workflow import HAZARD_WORKFLOW, STATUS_LABELS
from layers.models import (
    HAZARD_KIND_LABELS,
    HAZARD_KINDS,
    HAZARD_SEVERITIES,
    HAZARD_STATUSES,
)

logger = logging.getLogger(__name__)

SQL = load_queries(Path(__file__).with_name("ledger.sql"))
HAZARD_FLOW = HAZARD_WORKFLOW
SEVERITY_LABELS = {"low": "低", "medium": "中", "high": "高", "critical": "重大"}
KIND_WORDS = {v: k for k, v in HAZARD_KIND_LABELS.items()}
STATUS_WORDS = {v: k for k, v in STATUS_LABELS.items()}


def check_choice(
    field: str, value: str | None, choices: tuple[str, ...], words: dict[str, str]
) -> str | None:
    """A filter value as its code (Chinese words accepted); 422 naming the field."""
    if value is None:
        return None
    code = words.get(value, value)
    if code not in choices:
        shown = ", ".join(f"{c} ({w})" for w, c in words.items()) or ", ".join(choices)
        raise InvalidInput(
            f"{field} {value!r} is not one of {shown}",
            errors=[{"field": field, "reason": f"expected one of {list(choices)}"}],
        )
    return code


def kind_code(value: str | None) -> str | None:
    """A hazard kind as its code: ``滑坡`` and ``landslide`` are the same."""
    return check_choice("kind", value, HAZARD_KINDS, KIND_WORDS)


def severity_code(value: str | None) -> str | None:
    """A severity as its code (low/medium/high/critical)."""
    words = {v: k for k, v in SEVERITY_LABELS.items()}
    return check_choice("severity", value, HAZARD_SEVERITIES, words)


def rule_params(settings: HazardSettings) -> dict[str, Any]:
    """The per-kind radii and per-severity re-check days as SQL array parameters."""
    return {
        "kinds": list(settings.warn_radius_m),
        "radii": [float(v) for v in settings.warn_radius_m.values()],
        "sevs": list(settings.recheck_days),
        "days": [int(v) for v in settings.recheck_days.values()],
    }


def grid_path(session: Session, *, township: str, grid: str | None) -> str | None:
    """The materialised path of ``grid`` (None for no grid); 422 when unknown."""
    if grid is None:
        return None
    return subtree_path(session, township=township, grid=grid, field="grid")


def hazard_rows(
    session: Session,
    *,
    township: str,
    settings: HazardSettings,
    code: str | None = None,
    status: str | None = None,
    open_only: bool = False,
    kind: str | None = None,
    severity: str | None = None,
    grid: str | None = None,
    overdue: bool = False,
    cadre: str | None = None,
    due_by: datetime | None = None,
    today: date | None = None,
    with_geometry: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[Any]:
    """Raw hazard rows (unmasked) for the ledger, re-checks and maps."""
    params = {
        "t": township, "code": code,
        "status": check_choice("status", status, HAZARD_STATUSES, STATUS_WORDS),
        "open_only": open_only, "kind": kind_code(kind),
        "severity": severity_code(severity),
        "grid_path": grid_path(session, township=township, grid=grid),
        "overdue": overdue, "cadre": cadre, "due_by": due_by,
        "order_due": due_by is not None,
        "today": today or china_today(), "with_geometry": with_geometry,
        "limit": limit, "offset": offset, **rule_params(settings),
    }  # fmt: skip
    return list(session.execute(SQL["hazards"], params))


def hazard_out(row: Any) -> HazardOut:
    """The ledger view of one row, the cadre's phone masked."""
    cadre = (
        CadreRef(
            id=row.cadre_id,
            code=row.cadre_code,
            name=row.cadre_name,
            phone=mask_phone(row.cadre_phone),
            assigned=bool(row.cadre_assigned),
        )
        if row.cadre_id is not None
        else None
    )
    return HazardOut(
        id=row.id, code=row.code, kind=row.kind,
        kind_label=HAZARD_KIND_LABELS.get(row.kind, row.kind), severity=row.severity,
        status=row.status, status_label=STATUS_LABELS.get(row.status, row.status),
        description=row.description, geometry_type=row.geometry_type,
        lon=row.lon, lat=row.lat, warn_radius_m=row.radius_m,
        warn_radius_is_default=row.warn_radius_m is None, found_at=row.found_at,
        deadline=row.deadline, closed_at=row.closed_at, overdue=bool(row.overdue),
        overdue_days=row.overdue_days, last_checked_at=row.last_checked_at,
        next_check_at=None if row.status == "closed" else row.next_check_at,
        grid=row.grid_code, grid_name=row.grid_name, grids=list(row.grids or []),
        cadre=cadre, allowed_transitions=list(HAZARD_FLOW.allowed(row.status)),
    )  # fmt: skip


def list_hazards(
    session: Session,
    *,
    township: str,
    settings: HazardSettings,
    limit: int = 100,
    offset: int = 0,
    **filters: Any,
) -> HazardList:
    """A page of hazards by status, kind, severity, grid subtree, cadre, overdue."""
    require_township(session, township=township)
    rows = hazard_rows(
        session, township=township, settings=settings, limit=limit, offset=offset,
        **filters,
    )  # fmt: skip
    return HazardList(
        total=rows[0].total if rows else 0,
        limit=limit,
        offset=offset,
        items=[hazard_out(r) for r in rows],
    )


def get_hazard(
    session: Session, *, township: str, code: str, settings: HazardSettings
) -> HazardDetailOut:
    """One hazard with its geometry and every step and re-check."""
    rows = hazard_rows(
        session, township=township, settings=settings, code=code, with_geometry=True,
        limit=1,
    )  # fmt: skip
    if not rows:
        raise NotFound(f"hazard {code!r} does not exist in township {township}")
    row = rows[0]
    events = session.execute(SQL["events"], {"t": township, "id": row.id})
    return HazardDetailOut(
        **hazard_out(row).model_dump(),
        geometry=feature({}, row.geometry)["geometry"],
        events=[HazardEventOut.model_validate(e._mapping) for e in events],
    )


def _locked(session: Session, township: str, code: str) -> Any:
    row = session.execute(SQL["lock"], {"t": township, "code": code}).first()
    if row is None:
        raise NotFound(f"hazard {code!r} does not exist in township {township}")
    return row


def move_hazard(
    session: Session,
    *,
    township: str,
    code: str,
    to: str,
    actor: str,
    settings: HazardSettings,
    note: str | None = None,
    attachments: list[str] | None = None,
) -> HazardDetailOut:
    """One step of the ledger; an illegal step is a 409 naming the allowed ones."""
    target = STATUS_WORDS.get(to, to)
    if target not in HAZARD_FLOW.statuses:
        raise InvalidInput(
            f"to {to!r} is not a hazard status; expected one of "
            + ", ".join(HAZARD_FLOW.label(s) for s in HAZARD_FLOW.statuses),
            errors=[{"field": "to", "reason": f"one of {list(HAZARD_FLOW.statuses)}"}],
        )
    note = note.strip() if note else None
    with atomic(session):
        row = _locked(session, township, code)
        HAZARD_FLOW.check(row.status, target, item=code, field_name="to")
        if target == "closed" and not note:
            raise InvalidInput(
                "closing a hazard (销号) needs a note saying how it was rectified",
                errors=[{"field": "note", "reason": "required to close"}],
            )
        session.execute(
            SQL["move"],
            {"t": township, "id": row.id, "kind": "move", "from_status": row.status,
             "to_status": target, "actor": actor, "note": note,
             "attachments": list(attachments or [])},
        )  # fmt: skip
    logger.info("hazard %s in %s: %s -> %s by %s", code, township, row.status, target,
                actor)  # fmt: skip
    return get_hazard(session, township=township, code=code, settings=settings)


def check_hazard(
    session: Session,
    *,
    township: str,
    code: str,
    actor: str,
    settings: HazardSettings,
    note: str | None = None,
    attachments: list[str] | None = None,
) -> HazardDetailOut:
    """Record a re-check (复查) of an open hazard: its next check is due later."""
    with atomic(session):
        row = _locked(session, township, code)
        if row.status in HAZARD_FLOW.final:
            raise Conflict(
                f"隐患 {code} 已销号 (closed): a closed hazard is not re-checked",
                errors=[{"field": "status", "reason": "closed"}],
            )
        session.execute(
            SQL["move"],
            {"t": township, "id": row.id, "kind": "check", "from_status": row.status,
             "to_status": row.status, "actor": actor, "note": note,
             "attachments": list(attachments or [])},
        )  # fmt: skip
    return get_hazard(session, township=township, code=code, settings=settings)
