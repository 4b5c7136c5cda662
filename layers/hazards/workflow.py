"""The hazard ledger as data: 排查 → 整改 → 销号 (found → rectifying → closed).

A closed hazard stays closed (the bug this replaces: one was PATCHed back to
found); a new finding is a new hazard. Closing needs a note (the service says so).
"""

from __future__ import annotations

from gis_service.core.i18n import N_
from gis_service.core.workflow import Workflow

HAZARD_WORKFLOW = Workflow(
    name="隐患",
    noun="hazard",
    moves={"found": ("rectifying",), "rectifying": ("closed",), "closed": ()},
    labels={"found": N_("已排查"), "rectifying": N_("整改中"), "closed": N_("已销号")},
)
STATUS_LABELS = dict(HAZARD_WORKFLOW.labels)
# Statuses still being worked on: warn lists, re-checks, overdue and the map.
OPEN_HAZARD_STATUSES = HAZARD_WORKFLOW.active
