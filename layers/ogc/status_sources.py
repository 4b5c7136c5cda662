"""OGC sources built on the coverage status rule (``grids.visits``), not a copy of it.

The uncovered households and every household's status as of a moment; split from
``collections`` (which lists the layers) because both read the status select.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm import Session

from grids.models import PRIORITY_TAGS, Cadre, Household
from grids.visits.status_select import household_status_select


def uncovered(township: str, session: Session) -> Select[Any]:
    """Households not visited in time: never, or overdue (days_overdue)."""
    st = household_status_select(session, township=township).subquery("st")
    return select(
        st.c.id, st.c.code, st.c.head_name, st.c.tags, st.c.grid, st.c.cadre,
        st.c.interval_days, st.c.last_visit,
        func.floor(st.c.overdue_days).label("days_overdue"),
        st.c.status, st.c.geom,
    ).where(
        (st.c.last_visit.is_(None)) | (st.c.overdue_days > 0)
    )  # fmt: skip


def visit_status(
    township: str, session: Session, as_of: datetime | None = None
) -> Select[Any]:
    """Every household with its coverage status as of ``as_of`` (default now).

    What the coverage map colours by in its vector-tile mode.
    """
    st = household_status_select(session, township=township, as_of=as_of).subquery("st")
    h = Household.__table__.alias("h")
    c = Cadre.__table__.alias("c")
    cadre_name = select(c.c.name).where(
        c.c.township_code == township, c.c.code == st.c.cadre
    )
    priority = cast(array(list(PRIORITY_TAGS)), ARRAY(String))
    return (
        select(
            st.c.id, st.c.code, h.c.members, h.c.village, st.c.tags, st.c.grid,
            st.c.cadre,
            cadre_name.scalar_subquery().label("cadre_name"),
            st.c.last_visit, func.floor(st.c.overdue_days).label("days_overdue"),
            st.c.status, st.c.tags.overlap(priority).label("priority"), st.c.geom,
        )
        .join(h, and_(h.c.township_code == township, h.c.id == st.c.id))
    )  # fmt: skip
