"""Re-checks (复查) in the visit routes: open hazards due become route stops.

An open hazard is due ``settings.recheck_days[severity]`` days after its last
step or re-check (critical 3, high 7, medium 14, low 30 by default). Grids may
not import layers, so ``install`` registers ``recheck_stops`` with the planner
from above (the app factory and the CLI root); the planner then adds the due
hazards of the cadre(s) it plans for, as stops of kind ``hazard``.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from gis_service.core.settings import HazardSettings, get_settings
from grids.routing.stops import Stop, register_stop_source
from layers.hazards.ledger import hazard_rows
from layers.models import HAZARD_KIND_LABELS

SOURCE = "hazard_rechecks"
RECHECK_LIMIT = 10_000


def recheck_stops(
    session: Session,
    *,
    township: str,
    cadre_ids: list[int],
    as_of: datetime | None,
    settings: HazardSettings | None = None,
) -> list[Stop]:
    """Open hazards of these cadres due for a re-check by ``as_of``, most due first."""
    rows = hazard_rows(
        session,
        township=township,
        settings=settings or get_settings().hazards,
        open_only=True,
        due_by=as_of or datetime.now(UTC),
        limit=RECHECK_LIMIT,
    )
    wanted = set(cadre_ids)
    return [
        Stop(
            household_id=None,
            code=r.code,
            lon=r.lon,
            lat=r.lat,
            kind="hazard",
            label=f"隐患复查 {r.code} {HAZARD_KIND_LABELS.get(r.kind, r.kind)}",
            cadre_id=r.cadre_id,
        )
        for r in rows
        if r.cadre_id in wanted
    ]


def install(settings: HazardSettings | None = None) -> None:
    """Let the visit-route planner add due hazard re-checks (idempotent).

    Without ``settings`` (the CLI) they are read when a route is planned.
    """
    register_stop_source(SOURCE, functools.partial(recheck_stops, settings=settings))
