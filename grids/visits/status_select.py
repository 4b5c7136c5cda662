"""The per-household coverage status as a composable select, for OGC collections.

The uncovered-households collection filters, pages and counts it in SQL; the
status rule is coverage's ``_STATUS`` statement, not a copy of it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Double, Integer, String, column, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TextualSelect

from geoalchemy2 import Geometry

from grids.visits.coverage import _STATUS, _as_of_params
from grids.visits.schemas import RuleSet

_STATUS_ROWS = text(
    _STATUS
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
