"""Extension points other packages plug into when layer data changes.

ASSIGNMENT HOOK: when households are imported or a household's location is
edited, their grid (and cadre) assignment must be re-run. The assignment service
(grids/assignment.py) registers itself here, e.g. at app/CLI start-up:
``HOUSEHOLDS_MOVED.append(lambda s, t, ids: assign(s, township=t, ids=ids))``.
Hooks run inside the import's or edit's transaction, so a failure rolls it back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

HouseholdsMovedHook = Callable[[Session, str, Sequence[int]], None]
HOUSEHOLDS_MOVED: list[HouseholdsMovedHook] = []


def households_moved(session: Session, *, township: str, ids: Sequence[int]) -> None:
    """Re-run grid assignment for new or moved households (``ids``)."""
    if not ids:
        return
    for hook in HOUSEHOLDS_MOVED:
        hook(session, township, ids)
