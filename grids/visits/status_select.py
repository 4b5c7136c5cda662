"""The per-household coverage status as a composable select, for OGC collections.

The uncovered-households collection filters, pages and counts it in SQL; the
status rule is coverage's ``STATUS`` statement, not a copy of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Double, Integer, String, column, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TextualSelect

from geoalchemy2 import Geometry

from grids.models import PRIORITY_TAGS
from grids.visits.coverage import _as_of_params, probed
from grids.visits.coverage_sql import STATUS, status_statements
from grids.visits.schemas import RuleSet

_STATUS_ROWS = text(
    STATUS
    + """
    SELECT st.id, st.code, st.head_name, st.tags,
           (SELECT g.code FROM grids g
            WHERE g.township_code = :t AND g.id = st.grid_id) AS grid,
           (SELECT c.code FROM cadres c
            WHERE c.township_code = :t AND c.id = st.cadre_id) AS cadre,
           st.interval_days, st.last_visit, st.overdue_days, st.status, st.geom
    FROM st
    """
).columns(
    column("id", BigInteger), column("code", String), column("head_name", String),
    column("tags", ARRAY(String)), column("grid", String), column("cadre", String),
    column("interval_days", Integer), column("last_visit", DateTime(timezone=True)),
    column("overdue_days", Double), column("status", String),
    column("geom", Geometry("POINT", srid=4326)),
)  # fmt: skip


def household_status_select(
    session: Session,
    *,
    township: str,
    as_of: datetime | None = None,
    rules: RuleSet | None = None,
) -> TextualSelect:
    """Every household's status as of ``as_of`` (default now) under the rules."""
    params = _as_of_params(
        session, township=township, as_of=as_of, grid=None, cadre=None, rules=rules
    )
    return _STATUS_ROWS.bindparams(**params)


_TALLY = status_statements(
    """
    SELECT st.status, count(*) AS households,
           count(*) FILTER (WHERE st.tags && CAST(:priority_tags AS varchar[]))
             AS priority
    FROM st GROUP BY st.status
    """
)


def status_tally(
    session: Session,
    *,
    township: str,
    as_of: datetime | None = None,
    grid: str | None = None,
) -> dict[str, Any]:
    """Households per status, and priority households, without reading the rows.

    Counted as ``household_statuses`` does for a map: a grid's subtree with the
    unassigned households inside its polygon.
    """
    params = _as_of_params(
        session, township=township, as_of=as_of, grid=grid, cadre=None, rules=None
    )
    params.update(unassigned_inside=True, priority_tags=list(PRIORITY_TAGS))
    rows = session.execute(_TALLY[probed(session, params)], params).mappings().all()
    return {
        "statuses": {r["status"]: int(r["households"]) for r in rows},
        "priority": sum(int(r["priority"]) for r in rows),
    }
