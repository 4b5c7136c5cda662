"""One small helper for every status workflow (demands, disputes, hazards).

Allowed moves are data (a dict from status to the statuses it may move to); an
illegal move is a ``Conflict`` (409) that names the moves allowed from where the
item stands, in the workflow's own words (Chinese labels first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from gis_service.core.errors import Conflict


class StatusEventOut(BaseModel):
    """One step of an item's history: who, when, from, to and a note."""

    from_status: str | None
    to_status: str
    actor: str
    note: str | None
    at: datetime


@dataclass(frozen=True)
class Workflow:
    """A status machine: ``moves[status]`` are the statuses reachable in one step."""

    name: str
    moves: Mapping[str, tuple[str, ...]]
    labels: Mapping[str, str] = field(default_factory=dict)
    noun: str = ""  # the item in English, for the detail's second sentence and logs

    def __post_init__(self) -> None:
        """Refuse a machine whose moves lead to a status it does not know."""
        unknown = {t for ts in self.moves.values() for t in ts} - set(self.moves)
        if unknown:
            raise ValueError(f"{self.name}: unknown target status {sorted(unknown)}")

    @property
    def statuses(self) -> tuple[str, ...]:
        """Every status, in the order the moves were written."""
        return tuple(self.moves)

    @property
    def final(self) -> frozenset[str]:
        """Statuses with no way out."""
        return frozenset(s for s, ts in self.moves.items() if not ts)

    @property
    def active(self) -> tuple[str, ...]:
        """Statuses with a way out: the item is still being worked on."""
        return tuple(s for s, ts in self.moves.items() if ts)

    @property
    def targets(self) -> frozenset[str]:
        """Statuses some move leads to (a request may only ask for one of these)."""
        return frozenset(t for ts in self.moves.values() for t in ts)

    def sources(self, target: str) -> tuple[str, ...]:
        """The statuses from which ``target`` is one allowed move away."""
        return tuple(s for s, ts in self.moves.items() if target in ts)

    def allowed(self, current: str) -> tuple[str, ...]:
        """The statuses ``current`` may move to (none for a final status)."""
        return tuple(self.moves.get(current, ()))

    def label(self, status: str) -> str:
        """The status as users read it: ``已销号 (closed)``, or the code alone."""
        text = self.labels.get(status)
        return f"{text} ({status})" if text else status

    def check(
        self,
        current: str,
        target: str,
        *,
        item: object | None = None,
        field_name: str = "status",
    ) -> None:
        """Raise ``Conflict`` unless ``current -> target`` is an allowed move.

        The detail is Chinese first, then the same in English for logs and
        scripts; ``errors`` and ``current_status`` carry it as data.
        """
        allowed = self.allowed(current)
        if target in allowed:
            return
        zh = f"{self.name} {item} " if item is not None else self.name
        en = f"{self.noun or self.name} {item}" if item is not None else self.noun
        shown = "、".join(self.label(s) for s in allowed) or "无（已是最终状态）"
        raise Conflict(
            f"{zh}不能从 {self.label(current)} 转为 {self.label(target)}；"
            f"允许：{shown}。{en.strip() or 'it'} is {current}: it cannot move to "
            f"{target} (allowed: {', '.join(allowed) or 'none, final'})",
            errors=[
                {
                    "field": field_name,
                    "reason": f"not allowed from {current}",
                    "allowed": list(allowed),
                }
            ],
            current_status=current,
        )
