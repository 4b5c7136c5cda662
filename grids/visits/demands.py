"""The demand ledger (诉求清单): demands raised on visits, followed to closure.

Status moves open → in_progress → resolved, with escalation on the way; every
change is a row in ``demand_events``. Closure rates roll up the grid tree through
``grids.path`` like a township report: "127 collected, 116 resolved, 91.3%".
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.db import atomic
from gis_service.core.errors import InvalidInput, NotFound
from gis_service.core.i18n import N_
from gis_service.core.inputs import as_utc, china_today
from gis_service.core.pages import Page, page_of
from gis_service.core.workflow import Workflow
from grids.tree.scope import check_references, grid_path
from grids.visits.schemas import (
    ClosureReport,
    ClosureRow,
    DemandCreate,
    DemandEventOut,
    DemandOut,
    DemandTransition,
)

logger = logging.getLogger(__name__)

# Which status may follow which; resolved is final.
DEMAND_WORKFLOW = Workflow(
    name="诉求",
    noun="demand",
    moves={
        "open": ("in_progress", "escalated"),
        "in_progress": ("resolved", "escalated"),
        "resolved": (),
        "escalated": ("in_progress", "resolved"),
    },
    labels={
        "open": N_("待办理"),
        "in_progress": N_("办理中"),
        "resolved": N_("已办结"),
        "escalated": N_("已上报"),
    },
)

_INSERT_DEMANDS = text(
    """
    INSERT INTO demands (township_code, household_id, visit_id, owner_cadre_id,
                         category, description, due_date)
    SELECT :t, h.id, r.visit_id, COALESCE(c.id, h.cadre_id), r.category,
           r.description, r.due_date
    FROM jsonb_to_recordset(CAST(:rows AS jsonb))
         AS r(household text, visit_id bigint, owner text, category text,
              description text, due_date date)
    JOIN households h ON h.township_code = :t AND h.code = r.household
    LEFT JOIN cadres c ON c.township_code = :t AND c.code = r.owner
    RETURNING id
    """
)

# A statement of its own, not a CTE beside the INSERT above: the row-level policy
# of grid leaders and cadres on demand_events looks the demand up, and rows a CTE
# inserts are invisible to the rest of its statement.
_RAISED = text(
    """
    INSERT INTO demand_events (township_code, demand_id, from_status, to_status,
                               actor, note)
    SELECT :t, id, NULL, 'open', :actor, 'raised'
    FROM unnest(CAST(:ids AS bigint[])) AS id
    """
)

_VISIT_OF_HOUSEHOLD = text(
    "SELECT h.code FROM visits v JOIN households h "
    "ON h.township_code = v.township_code AND h.id = v.household_id "
    "WHERE v.township_code = :t AND v.id = :visit"
)

_LOCK_DEMAND = text(
    "SELECT status FROM demands WHERE township_code = :t AND id = :id FOR UPDATE"
)

_TRANSITION = text(
    """
    WITH upd AS (
        UPDATE demands
        SET status = :to, updated_at = now(),
            resolved_at = CASE WHEN :to = 'resolved' THEN now() END,
            resolution = COALESCE(:resolution, resolution)
        WHERE township_code = :t AND id = :id AND status = :from
        RETURNING id
    )
    INSERT INTO demand_events (township_code, demand_id, from_status, to_status,
                               actor, note)
    SELECT :t, upd.id, :from, :to, :actor, :note FROM upd
    RETURNING demand_id
    """
)

# The rows are gathered before they are ordered and paged (a MATERIALIZED CTE
# is planned for all its rows): count(*) OVER () reads every row anyway, but
# under LIMIT the planner costed only the first page's share of the join and,
# with a wide role's township check on every table, chose a sorted nested loop
# that probed each demand's household and assignment (2-3x slower than the
# hash joins it picks for the whole set).
_LIST_DEMANDS = text(
    """
    WITH listed AS MATERIALIZED (
    SELECT d.id, d.household_id, h.code AS household, h.head_name, h.grid_id,
           d.visit_id, d.owner_cadre_id, c.code AS owner, c.name AS owner_name,
           d.category, d.description, d.status,
           d.due_date, d.created_at, d.resolved_at, d.resolution,
           CASE WHEN d.status <> 'resolved' AND d.due_date < :as_of
                THEN :as_of - d.due_date END AS overdue_days,
           count(*) OVER () AS matched
    FROM demands d
    JOIN households h
      ON h.township_code = d.township_code AND h.id = d.household_id
    LEFT JOIN cadres c ON c.township_code = d.township_code AND c.id = d.owner_cadre_id
    LEFT JOIN grids g ON g.township_code = h.township_code AND g.id = h.grid_id
    WHERE d.township_code = :t
      AND (CAST(:id AS bigint) IS NULL OR d.id = :id)
      AND (CAST(:status AS text) IS NULL OR d.status = :status)
      AND (CAST(:category AS text) IS NULL OR d.category = :category)
      AND (CAST(:owner AS text) IS NULL OR c.code = :owner)
      AND (CAST(:path AS text) IS NULL OR g.path LIKE :path || '%')
      AND (NOT :overdue_only OR (d.status <> 'resolved' AND d.due_date < :as_of))
    )
    SELECT * FROM listed
    ORDER BY overdue_days DESC NULLS LAST, due_date NULLS LAST, id
    LIMIT :limit OFFSET :offset
    """
)

_HISTORY = text(
    "SELECT from_status, to_status, actor, note, at FROM demand_events "
    "WHERE township_code = :t AND demand_id = :id ORDER BY at, id"
)

_COUNTS = """
    count(d.status) AS collected,
    count(*) FILTER (WHERE d.status = 'resolved') AS resolved,
    count(*) FILTER (WHERE d.status = 'in_progress') AS in_progress,
    count(*) FILTER (WHERE d.status = 'escalated') AS escalated,
    count(*) FILTER (WHERE d.status = 'open') AS open,
    count(*) FILTER (WHERE d.status <> 'resolved' AND d.due_date < :as_of) AS overdue
"""

_CLOSURE_ROWS = """
    WITH d AS (
        SELECT d.status, d.due_date, h.grid_id
        FROM demands d
        JOIN households h
      ON h.township_code = d.township_code AND h.id = d.household_id
        WHERE d.township_code = :t
          AND (CAST(:since AS timestamptz) IS NULL OR d.created_at >= :since)
          AND (CAST(:until AS timestamptz) IS NULL OR d.created_at < :until)
    )
"""

_CLOSURE_TOWNSHIP = f"""
    SELECT NULL::bigint AS grid_id, NULL AS code, t.name, NULL AS level,
           NULL::int AS depth, '' AS path, {_COUNTS}
    FROM townships t LEFT JOIN d ON true
    WHERE t.code = :t
    GROUP BY t.name
"""

_CLOSURE = text(
    _CLOSURE_ROWS
    + _CLOSURE_TOWNSHIP
    + f"""
    UNION ALL
    SELECT g.id, g.code, g.name, g.level, g.depth, g.path, {_COUNTS}
    FROM grids g
    LEFT JOIN grids sub ON sub.township_code = g.township_code
                       AND sub.path LIKE g.path || '%'
    LEFT JOIN d ON d.grid_id = sub.id
    WHERE g.township_code = :t
    GROUP BY g.township_code, g.id
    ORDER BY path
    """
)

# The township's row alone (the workbench's card): the same rows and counts.
_CLOSURE_TOTAL = text(_CLOSURE_ROWS + _CLOSURE_TOWNSHIP)


def insert_demands(
    session: Session, *, township: str, rows: list[dict[str, Any]], actor: str
) -> list[int]:
    """Insert demands (references already checked) and their 'raised' events."""
    if not rows:
        return []
    ids = [
        int(i)
        for i in session.execute(
            _INSERT_DEMANDS,
            {"t": township, "rows": json.dumps(rows, ensure_ascii=False)},
        ).scalars()
    ]
    session.execute(_RAISED, {"t": township, "ids": ids, "actor": actor})
    return ids


def create_demand(
    session: Session, *, township: str, demand: DemandCreate
) -> DemandOut:
    """Record a demand (optionally tied to a visit of the same household)."""
    refs = [
        {"num": 1, "field": "household", "kind": "household", "code": demand.household}
    ]
    if demand.owner:
        refs.append({"num": 1, "field": "owner", "kind": "cadre", "code": demand.owner})
    with atomic(session):
        check_references(session, township=township, refs=refs)
        if demand.visit_id is not None:
            visited = session.execute(
                _VISIT_OF_HOUSEHOLD, {"t": township, "visit": demand.visit_id}
            ).scalar()
            if visited != demand.household:
                raise InvalidInput(
                    f"visit {demand.visit_id} is not a visit to {demand.household}",
                    errors=[{"field": "visit_id", "reason": "no such visit here"}],
                )
        row = demand.model_dump(mode="json", exclude={"actor"})
        (new_id,) = insert_demands(
            session, township=township, rows=[row], actor=demand.actor
        )
    return get_demand(session, township=township, demand_id=new_id)


def get_demand(session: Session, *, township: str, demand_id: int) -> DemandOut:
    """One demand, or NotFound."""
    found = list_demands(session, township=township, demand_id=demand_id, limit=1).items
    if not found:
        raise NotFound(f"demand {demand_id} does not exist in township {township}")
    return found[0]


def transition_demand(
    session: Session, *, township: str, demand_id: int, change: DemandTransition
) -> DemandOut:
    """Move a demand to a new status; an illegal move is a Conflict (409)."""
    with atomic(session):
        current = session.execute(
            _LOCK_DEMAND, {"t": township, "id": demand_id}
        ).scalar()
        if current is None:
            raise NotFound(f"demand {demand_id} does not exist in township {township}")
        DEMAND_WORKFLOW.check(current, change.status, item=demand_id)
        session.execute(
            _TRANSITION,
            {"t": township, "id": demand_id, "from": current, "to": change.status,
             "actor": change.actor, "note": change.note,
             "resolution": change.resolution},
        )  # fmt: skip
    logger.info("demand %s %s -> %s", demand_id, current, change.status)
    return get_demand(session, township=township, demand_id=demand_id)


def demand_history(
    session: Session, *, township: str, demand_id: int
) -> list[DemandEventOut]:
    """Every status change of a demand, oldest first."""
    get_demand(session, township=township, demand_id=demand_id)
    rows = session.execute(_HISTORY, {"t": township, "id": demand_id}).mappings()
    return [DemandEventOut(**r) for r in rows]


def list_demands(
    session: Session,
    *,
    township: str,
    demand_id: int | None = None,
    status: str | None = None,
    category: str | None = None,
    owner: str | None = None,
    grid: str | None = None,
    overdue_only: bool = False,
    as_of: date | None = None,
    limit: int = 100,
    offset: int = 0,
    url: str | None = None,
) -> Page[DemandOut]:
    """Demands, most overdue first; ``grid`` takes its whole subtree."""
    path = grid_path(session, township=township, grid=grid) if grid else None
    rows = session.execute(
        _LIST_DEMANDS,
        {"t": township, "id": demand_id, "status": status, "category": category,
         "owner": owner, "path": path, "overdue_only": overdue_only,
         "as_of": as_of or china_today(), "limit": limit, "offset": offset},
    ).mappings().all()  # fmt: skip
    return page_of(rows, lambda r: DemandOut(**r), limit=limit, offset=offset, url=url)


def _closure_row(row: Any) -> ClosureRow:
    collected, resolved = int(row["collected"]), int(row["resolved"])
    rate = resolved / collected if collected else None
    summary = f"{collected} collected, {resolved} resolved" + (
        f", {100 * rate:.1f}%" if rate is not None else ""
    )
    return ClosureRow(
        grid_id=row["grid_id"], code=row["code"], name=row["name"], level=row["level"],
        depth=row["depth"], collected=collected, resolved=resolved,
        in_progress=row["in_progress"], escalated=row["escalated"], open=row["open"],
        overdue=row["overdue"], closure_rate=rate, summary=summary,
    )  # fmt: skip


def closure_report(
    session: Session,
    *,
    township: str,
    since: datetime | None = None,
    until: datetime | None = None,
    as_of: date | None = None,
    grids: bool = True,
) -> ClosureReport:
    """Demands collected and resolved in a period: township-wide and per subtree.

    Without ``grids`` only the township's row is counted (``grids`` is empty).
    """
    since, until = since and as_utc(since), until and as_utc(until)
    rows = session.execute(
        _CLOSURE if grids else _CLOSURE_TOTAL,
        {
            "t": township,
            "since": since,
            "until": until,
            "as_of": as_of or china_today(),
        },
    ).mappings()
    out = [_closure_row(r) for r in rows]
    return ClosureReport(since=since, until=until, township=out[0], grids=out[1:])
