"""Extra fixtures for the assignment tests: boxes, pins and cadre lookups."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from shapely.geometry import Polygon, box

from grids.assignment.store import assign_to
from tests.factories import TOWNSHIP


def rect(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """A box with exactly these corner coordinates (no float drift at borders)."""
    return box(x0, y0, x1, y1)


def pin(session: Session, household_id: int, cadre_id: int) -> None:
    """Manually assign and pin a (not yet assigned) household to a cadre."""
    assign_to(
        session,
        township=TOWNSHIP,
        household_ids=[household_id],
        grid_id=None,
        cadre_id=cadre_id,
        pinned=True,
    )
    session.commit()


def assignments(session: Session) -> dict[str, tuple[str | None, str | None]]:
    """household code -> (grid code, cadre code)."""
    rows = session.execute(
        text(
            "SELECT h.code, g.code AS grid, c.code AS cadre FROM households_assigned h "
            "LEFT JOIN grids g ON g.township_code = h.township_code "
            "AND g.id = h.grid_id "
            "LEFT JOIN cadres c ON c.township_code = h.township_code "
            "AND c.id = h.cadre_id "
            "WHERE h.township_code = :t"
        ),
        {"t": TOWNSHIP},
    )
    return {r.code: (r.grid, r.cadre) for r in rows}
