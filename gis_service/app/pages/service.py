"""What each workbench page shows, gathered from the domains' own services.

Pages hold no rules of their own: coverage, the overdue rule, closure, disputes and
routes are the services the API uses, so a page and the API never disagree. The
session is the request's, so the caller's scope (row-level security) applies.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.errors import GridGISError, InvalidInput
from gis_service.core.i18n import N_
from gis_service.core.privacy import mask_phone
from gis_service.core.settings import HazardSettings
from grids.routing.planner import find_cadre, plan_route
from grids.visits.coverage import coverage_by_grid, uncovered_households
from grids.visits.demands import closure_report, list_demands, transition_demand
from grids.visits.log import list_visits, record_visit
from grids.visits.schemas import (
    DemandTransition,
    RoutePlan,
    RouteRequest,
    UncoveredOut,
    VisitCreate,
)
from layers.disputes.review import (
    dispute_summary,
    get_dispute,
    list_disputes,
    transition_dispute,
)
from layers.hazards.ledger import get_hazard, list_hazards, move_hazard
from layers.hazards.schemas import HazardDetailOut, HazardList, WarnList
from layers.hazards.warn import warn_list
from layers.io.editing import get_feature

_HAZARDS = text(
    "SELECT status, count(*) AS n FROM hazards WHERE township_code = :t GROUP BY status"
)
_SEARCH = text(
    """
    (SELECT 'household' AS kind, code, head_name AS name, village AS detail
     FROM households WHERE township_code = :t
       AND (code ILIKE :q OR head_name ILIKE :q OR village ILIKE :q) LIMIT 20)
    UNION ALL
    (SELECT 'cadre', code, name, role FROM cadres WHERE township_code = :t
       AND (code ILIKE :q OR name ILIKE :q) LIMIT 20)
    UNION ALL
    (SELECT 'grid', code, name, level FROM grids WHERE township_code = :t
       AND (code ILIKE :q OR name ILIKE :q) LIMIT 20)
    """
)
_TOWNSHIPS = text("SELECT code, name FROM townships ORDER BY code")
_START = text(
    """
    SELECT (SELECT c.code FROM households a
            JOIN cadres c ON c.township_code = a.township_code AND c.id = a.cadre_id
            WHERE a.township_code = :t AND a.code = ANY(:codes) AND c.base IS NOT NULL
            GROUP BY c.code ORDER BY count(*) DESC, c.code LIMIT 1) AS cadre,
           true AS has_base, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat
    FROM households h WHERE h.township_code = :t AND h.code = ANY(:codes)
    ORDER BY array_position(CAST(:codes AS text[]), h.code::text) LIMIT 1
    """
)
_NAMES = text(
    "SELECT code, head_name, phone FROM households"
    " WHERE township_code = :t AND code = ANY(:codes)"
)


def townships(session: Session) -> list[dict[str, Any]]:
    """The townships the user may see (row-level security decides)."""
    return [dict(r._mapping) for r in session.execute(_TOWNSHIPS)]


def home(session: Session, *, township: str) -> dict[str, Any]:
    """工作台: coverage by grid, overdue visits, demand closure, disputes, hazards."""
    coverage = coverage_by_grid(session, township=township)
    closure = closure_report(session, township=township, grids=False)
    disputes = dispute_summary(session, township=township)
    hazards = {r.status: int(r.n) for r in session.execute(_HAZARDS, {"t": township})}
    grids = [r for r in coverage.rows if r.level not in (None, "core", "domain")]
    return {
        "coverage": coverage,
        "grids": grids or coverage.rows,
        "due": coverage.township.households - coverage.township.up_to_date,
        "closure": closure.township,
        "disputes": disputes,
        "hazards_open": sum(n for s, n in hazards.items() if s != "closed"),
        "hazards": hazards,
    }


def uncovered(
    session: Session,
    *,
    township: str,
    grid: str | None,
    cadre: str | None,
    tag: str | None,
    min_days: float | None,
    limit: int = 500,
) -> list[UncoveredOut]:
    """未走访: never visited or overdue, most overdue first, with the filters."""
    rows = uncovered_households(
        session, township=township, grid=grid, cadre=cadre, limit=limit
    ).items
    if tag:
        rows = [r for r in rows if tag in r.tags]
    if min_days is not None:
        rows = [r for r in rows if r.overdue_days is None or r.overdue_days >= min_days]
    return rows


def route_for(
    session: Session,
    *,
    township: str,
    households: list[str],
    cadre: str | None,
    per_day: int | None,
) -> RoutePlan:
    """Plan a route over chosen households (from the cadre's base when given)."""
    if households and not cadre:
        cadre, start = _start_for(session, township=township, codes=households)
    else:
        start = {}
    try:
        request = RouteRequest.model_validate(
            {"households": households or None, "cadre": cadre or None,
             "per_day": per_day, **start}
        )  # fmt: skip
    except ValidationError as exc:
        raise InvalidInput(N_("请选择要走访的农户或干部"), errors=_errors(exc)) from exc
    return plan_route(session, township=township, request=request)


def _start_for(
    session: Session, *, township: str, codes: list[str]
) -> tuple[str | None, dict[str, float]]:
    """Where a route over chosen households starts.

    The base of the cadre most of them belong to, else the first household.
    """
    row = session.execute(_START, {"t": township, "codes": codes}).first()
    if row is None:
        return None, {}
    if row.cadre is not None and row.has_base:
        return str(row.cadre), {}
    return None, {"start_lon": float(row.lon), "start_lat": float(row.lat)}


def disputes_page(
    session: Session, *, township: str, status: str | None
) -> dict[str, Any]:
    """草场争议 review queue, largest overlap first."""
    return {
        "list": list_disputes(session, township=township, status=status, limit=200),
        "summary": dispute_summary(session, township=township),
    }


def dispute(session: Session, *, township: str, dispute_id: int) -> Any:
    """One dispute with its parcels, holders, areas and history."""
    detail, _, _ = get_dispute(session, township=township, dispute_id=dispute_id)
    return detail


def demands_page(
    session: Session, *, township: str, status: str | None, overdue_only: bool
) -> list[Any]:
    """诉求台账, most overdue first."""
    return list_demands(
        session, township=township, status=status, overdue_only=overdue_only, limit=500
    ).items


def move_demand(
    session: Session,
    *,
    township: str,
    demand_id: int,
    to: str,
    note: str | None,
    actor: str,
) -> None:
    """One step of the demand workflow (409 from the workflow when not allowed)."""
    values = {"status": to, "note": note or None, "actor": actor}
    if to == "resolved":
        values["resolution"] = note or None
    try:
        change = DemandTransition.model_validate(values)
    except ValidationError as exc:
        raise InvalidInput(N_("办理状态有误"), errors=_errors(exc)) from exc
    transition_demand(session, township=township, demand_id=demand_id, change=change)


def move_dispute(
    session: Session,
    *,
    township: str,
    dispute_id: int,
    to: str,
    note: str | None,
    actor: str,
) -> None:
    """One review step of a dispute, with the leader's note."""
    transition_dispute(
        session, township=township, dispute_id=dispute_id, to_status=to,
        actor=actor, note=note or None,
    )  # fmt: skip


def _errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(map(str, e["loc"])) or "form", "reason": e["msg"]}
        for e in exc.errors()
    ]


def log_visit(
    session: Session, *, township: str, form: dict[str, Any], actor: str
) -> Any:
    """走访登记 from the phone form; the API's own validation names bad fields."""
    values = {k: v for k, v in form.items() if v not in (None, "")}
    values.setdefault("visited_at", datetime.now(UTC).isoformat())
    demand = values.pop("demand", None)
    category = values.pop("demand_category", None) or "other"
    if demand:
        values["demands"] = [{"category": category, "description": demand}]
    try:
        visit = VisitCreate.model_validate(values)
    except ValidationError as exc:
        raise InvalidInput(N_("走访登记有误"), errors=_errors(exc)) from exc
    return record_visit(session, township=township, visit=visit, actor=actor)


def saved_visit(session: Session, *, township: str, visit_id: int | None) -> Any | None:
    """The visit just saved, to confirm it by household (None: not one in scope)."""
    if visit_id is None or not 0 < visit_id < 2**63:
        return None
    found = list_visits(session, township=township, ids=[visit_id], limit=1).items
    return found[0] if found else None


def search(session: Session, *, township: str, q: str) -> list[dict[str, Any]]:
    """A household (name, code, village), a cadre or a grid by part of its name."""
    if not q.strip():
        return []
    pattern = "%" + q.strip().replace("\\", "\\\\").replace("%", r"\%") + "%"
    return [
        dict(r._mapping)
        for r in session.execute(_SEARCH, {"t": township, "q": pattern})
    ]


def form_errors(exc: GridGISError) -> dict[str, str]:
    """A domain error as {field: reason} to show beside each field."""
    shown: dict[str, str] = {}
    for item in exc.errors:
        name = str(item.get("field") or "form").split(".")[-1]
        shown.setdefault(name, str(item.get("reason") or exc.detail))
    return shown or {"form": exc.detail}


def household(session: Session, *, township: str, code: str) -> dict[str, Any]:
    """农户: its attributes (masked), grid, cadre, visits and demands."""
    feature = get_feature(session, township=township, layer="households", code=code)
    visits = list_visits(session, township=township, household=code, limit=50).items
    demands = [
        d
        for d in list_demands(session, township=township, limit=10_000).items
        if d.household == code
    ]
    return {"feature": feature, "visits": visits, "demands": demands}


def cadre(session: Session, *, township: str, code: str) -> dict[str, Any]:
    """干部: who they are and their households due for a visit."""
    person = find_cadre(session, township=township, code=code)
    due = uncovered_households(session, township=township, cadre=code, limit=500).items
    return {"cadre": person, "due": due}


def household_names(
    session: Session, *, township: str, codes: list[str]
) -> dict[str, dict[str, Any]]:
    """Head names and masked phones of route stops, for the route sheet.

    Phones are masked here as everywhere; a role allowed to see them unmasks
    through the access layer (``unmask``), not this page.
    """
    rows = session.execute(_NAMES, {"t": township, "codes": codes}).mappings()
    return {
        r["code"]: {"head_name": r["head_name"], "phone": mask_phone(r["phone"])}
        for r in rows
    }


def hazards_page(
    session: Session, *, township: str, settings: HazardSettings, **filters: Any
) -> HazardList:
    """隐患台账: the township's hazards by kind, status, overdue (the API's list)."""
    return list_hazards(
        session, township=township, settings=settings, limit=500, **filters
    )


def hazard(
    session: Session, *, township: str, code: str, settings: HazardSettings
) -> HazardDetailOut:
    """One hazard with its ledger events and allowed next steps."""
    return get_hazard(session, township=township, code=code, settings=settings)


def move_hazard_step(
    session: Session,
    *,
    township: str,
    code: str,
    to: str,
    note: str,
    actor: str,
    settings: HazardSettings,
) -> HazardDetailOut:
    """排查 → 整改 → 销号, one step (the ledger's rules: 409, closing needs a note)."""
    return move_hazard(
        session, township=township, code=code, to=to, actor=actor,
        note=note or None, settings=settings,
    )  # fmt: skip


def hazard_warn(
    session: Session, *, township: str, code: str, settings: HazardSettings
) -> WarnList:
    """Households to warn around one hazard, priority households first."""
    return warn_list(
        session, township=township, settings=settings, code=code, limit=1000
    )
