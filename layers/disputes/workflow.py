"""The dispute review workflow as data: statuses, moves, Chinese labels.

open → mediating → resolved | dismissed (a dispute found to be no dispute may be
dismissed straight from open). ``closed`` is set only by detection when the
overlap disappears, so no review step leads to it. Maps, the summary and the
review service all take the open statuses from here.
"""

from __future__ import annotations

from gis_service.core.i18n import N_
from gis_service.core.workflow import Workflow

DISPUTE_WORKFLOW = Workflow(
    name="纠纷",
    noun="dispute",
    moves={
        "open": ("mediating", "dismissed"),
        "mediating": ("resolved", "dismissed"),
        "resolved": (),
        "dismissed": (),
        "closed": (),
    },
    labels={
        "open": N_("待调处"),
        "mediating": N_("调解中"),
        "resolved": N_("已化解"),
        "dismissed": N_("不予受理"),
        "closed": N_("重叠已消除"),
    },
)
# Statuses still in review (open, mediating): what maps show, the summary counts.
OPEN_DISPUTE_STATUSES = DISPUTE_WORKFLOW.active
