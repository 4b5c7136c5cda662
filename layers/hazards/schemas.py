"""Request and response schemas of the hazard ledger, warn lists and statistics."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from gis_service.core.workflow import StatusEventOut
from layers.hazards.workflow import STATUS_LABELS
from layers.models import HAZARD_STATUSES

# No whitespace, spelled out: ``\S`` differs between Python, Rust and ECMAScript
# (U+0085, U+001C-1F, U+FEFF), so the schema and the service disagreed on those.
_SPACE = (
    "\t-\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
Url = Annotated[str, Field(max_length=2000, pattern=f"^https?://[^{_SPACE}]+$")]


class TransitionCreate(BaseModel):
    """One step: who moves the hazard to which status, with a note and photos."""

    to: str = Field(
        min_length=1,
        max_length=20,
        description="rectifying (整改中) or closed (已销号); Chinese labels accepted",
        json_schema_extra={"enum": [*HAZARD_STATUSES, *STATUS_LABELS.values()]},
    )
    actor: str = Field(min_length=1, max_length=100)
    note: str | None = Field(
        default=None, max_length=4000, description="required to close (销号说明)"
    )
    attachments: list[Url] = Field(
        default_factory=list, max_length=20, description="photo/document URLs"
    )


class CheckCreate(BaseModel):
    """A re-check (复查) of an open hazard: who looked, what they saw, photos."""

    actor: str = Field(min_length=1, max_length=100)
    note: str | None = Field(default=None, max_length=4000)
    attachments: list[Url] = Field(default_factory=list, max_length=20)


class HazardEventOut(StatusEventOut):
    """One step or re-check in a hazard's history, with its attachment URLs."""

    kind: str = Field(description="found | move | check")
    attachments: list[str]


class CadreRef(BaseModel):
    """The responsible cadre (phone masked)."""

    id: int
    code: str
    name: str
    phone: str | None
    assigned: bool = Field(description="set on the hazard (else the grid's default)")


class HazardOut(BaseModel):
    """A hazard in the ledger, with its grid(s), cadre and deadlines."""

    id: int
    code: str
    kind: str
    kind_label: str
    severity: str
    status: str
    status_label: str
    description: str | None
    geometry_type: str = Field(description="POINT or MULTIPOLYGON")
    lon: float = Field(description="a point on the hazard (its centre for a point)")
    lat: float
    warn_radius_m: float = Field(description="the hazard's own, else its kind's")
    warn_radius_is_default: bool
    found_at: datetime
    deadline: date | None
    closed_at: datetime | None
    overdue: bool
    overdue_days: int | None
    last_checked_at: datetime | None
    next_check_at: datetime | None
    grid: str | None = Field(description="the deepest grid holding all of it")
    grid_name: str | None
    grids: list[str] = Field(description="every leaf grid it touches")
    cadre: CadreRef | None
    allowed_transitions: list[str]


class HazardDetailOut(HazardOut):
    """A hazard with its geometry and history."""

    geometry: dict[str, Any] | None
    events: list[HazardEventOut]


class HazardList(BaseModel):
    """A page of hazards."""

    total: int
    limit: int
    offset: int
    items: list[HazardOut]


class WarnHousehold(BaseModel):
    """A household to warn: where, how far, who warns it (phones masked)."""

    household: str
    head_name: str
    members: int
    village: str | None
    address: str | None
    phone: str | None
    tags: list[str]
    priority: bool = Field(description="elderly alone, monitored, 低保/特困 ... first")
    lon: float
    lat: float
    distance_m: float = Field(description="geodesic, from a polygon's edge (0 inside)")
    hazard: str = Field(description="the nearest hazard warned about")
    hazard_kind: str
    radius_m: float
    hazards: list[str] = Field(description="every hazard it is within reach of")
    grid: str | None
    grid_name: str | None
    cadre: str | None
    cadre_name: str | None
    cadre_phone: str | None


class WarnHazard(BaseModel):
    """A hazard the warn list covers and the radius used."""

    code: str
    kind: str
    severity: str
    radius_m: float
    households: int


class WarnList(BaseModel):
    """Households to warn (转移避险), priority households first, then nearest."""

    township: str
    hazards: list[WarnHazard]
    total: int
    priority: int
    people: int
    limit: int
    offset: int
    items: list[WarnHousehold]


class StatsRow(BaseModel):
    """Rectification numbers of one grid subtree (or the township)."""

    grid: str | None = Field(description="None: the whole township")
    name: str
    level: str | None
    depth: int | None
    total: int
    found: int
    rectifying: int
    closed: int
    rate: float | None = Field(description="closed / total (销号率)")
    overdue: int
    median_days_to_close: float | None


class HazardStats(BaseModel):
    """Rectification statistics per grid subtree and for the township."""

    township: str
    as_of: date
    rows: list[StatsRow]
