"""What must follow when households, grids or cadres change: the assignment.

Called by the importer and by PATCH inside their transaction, so a failure of the
assignment rolls the import or edit back too.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from grids.assignment.service import reassign


def households_moved(session: Session, *, township: str, ids: Sequence[int]) -> None:
    """Re-run grid and cadre assignment for new or moved households (``ids``)."""
    if ids:
        reassign(session, township=township, household_ids=list(ids))


def households_loaded(session: Session, *, township: str) -> None:
    """Assign a township whose households were all just loaded (a full run)."""
    reassign(session, township=township)


def grids_or_cadres_changed(session: Session, *, township: str) -> None:
    """Re-run the whole township's assignment after grids or cadres changed.

    New outlines move households between grids and new cadres take on households
    nobody was responsible for; the keep-bonus makes the full run change only what
    must change.
    """
    reassign(session, township=township)
