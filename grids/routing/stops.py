"""Route stops, and the stops other packages add to a cadre's route through a hook.

Grids may not import layers (the import direction is app > maps > layers > grids),
yet open hazards due for a re-check belong in the responsible cadre's next route.
So a package above registers a ``StopSource`` here (the app factory and the CLI
root install the hazards' one) and the planner asks every registered source for
the extra stops of the cadres it plans for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)


@dataclass
class Stop:
    """A place to visit (or the start): a household, or what a source adds."""

    household_id: int | None
    code: str | None
    lon: float
    lat: float
    kind: str = "household"  # or a source's kind, e.g. "hazard" (a re-check)
    label: str | None = None
    cadre_id: int | None = None  # whose stop it is: day plans keep it theirs
    name: str | None = None  # a household's head (shown beside its code)


class StopSource(Protocol):
    """Extra stops for these cadres as of a time (e.g. hazards due a re-check)."""

    def __call__(
        self,
        session: Session,
        *,
        township: str,
        cadre_ids: list[int],
        as_of: datetime | None,
    ) -> list[Stop]:
        """The stops, each with the ``cadre_id`` it belongs to."""
        ...


_SOURCES: dict[str, StopSource] = {}


def register_stop_source(name: str, source: StopSource) -> None:
    """Add (or replace) the source called ``name``."""
    _SOURCES[name] = source


def unregister_stop_source(name: str) -> None:
    """Remove the source called ``name`` (no error when it is not there)."""
    _SOURCES.pop(name, None)


def extra_stops(
    session: Session,
    *,
    township: str,
    cadre_ids: list[int],
    as_of: datetime | None,
) -> list[Stop]:
    """Every registered source's stops for these cadres, in registration order."""
    out: list[Stop] = []
    for source in _SOURCES.values():
        out += source(session, township=township, cadre_ids=cadre_ids, as_of=as_of)
    return out
