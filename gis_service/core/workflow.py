"""One small helper for every status workflow (demands, disputes, hazards).

Allowed moves are data (a dict from status to the statuses it may move to); an
illegal move is a ``Conflict`` (409) that names the moves allowed from where the
item stands, in the workflow's own words (Chinese labels first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gis_service.core.errors import Conflict


@dataclass(frozen=True)
class Workflow:
    """A status machine: ``moves[status]`` are the statuses reachable in one step."""

    name: str
    moves: Mapping[str, tuple[str, ...]]
    labels: Mapping[str, str] = field(default_factory=dict)

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

    def allowed(self, current: str) -> tuple[str, ...]:
        """The statuses ``current`` may move to (none for a final status)."""
        return tuple(self.moves.get(current, ()))

    def label(self, status: str) -> str:
        """The status as users read it: ``已销号 (closed)``, or the code alone."""
        text = self.labels.get(status)
        return f"{text} ({status})" if text else status

    def check(self, current: str, target: str, *, field_name: str = "status") -> None:
        """Raise ``Conflict`` unless ``current -> target`` is an allowed move."""
        allowed = self.allowed(current)
        if target in allowed:
            return
        shown = "、".join(self.label(s) for s in allowed) or "无（已是最终状态）"
        raise Conflict(
            f"{self.name}不能从 {self.label(current)} 转为 {self.label(target)}；"
            f"允许：{shown}",
            errors=[
                {
                    "field": field_name,
                    "reason": f"not allowed from {current}",
                    "allowed": list(allowed),
                }
            ],
        )
