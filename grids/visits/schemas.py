"""Request and response schemas of visits, demands, coverage and visit routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gis_service.core.inputs import Day, Instant, RowId, StrictInput, Text
from gis_service.core.workflow import StatusEventOut
from grids.models import HOUSEHOLD_TAGS

Purpose = Literal["policy", "service", "mediation", "safety", "other"]
Category = Literal[
    "employment", "medical", "education", "elderly_care", "infrastructure",
    "environment", "dispute", "safety", "other",
]  # fmt: skip
Status = Literal["open", "in_progress", "resolved", "escalated"]


class DemandIn(StrictInput):
    """A demand raised on a visit (its household is the visit's)."""

    model_config = ConfigDict(extra="forbid")

    category: Category
    description: Text = Field(min_length=1, max_length=4000)
    due_date: Day | None = None
    owner: Text | None = Field(
        None, description="owner cadre code (default: household's)"
    )


class VisitCreate(StrictInput):
    """One visit; naive times are China Standard Time (UTC+8)."""

    model_config = ConfigDict(extra="forbid")

    household: Text = Field(min_length=1, max_length=64, description="household code")
    cadre: Text | None = Field(None, description="cadre code (default: household's)")
    visited_at: Instant
    purpose: Purpose = "service"
    notes: Text | None = Field(None, max_length=4000)
    lon: float | None = Field(None, ge=-180, le=180, description="GPS fix longitude")
    lat: float | None = Field(None, ge=-90, le=90, description="GPS fix latitude")
    demands: list[DemandIn] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fix_pair(self) -> VisitCreate:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("lon and lat must be given together")
        return self


class VisitOut(BaseModel):
    """A recorded visit, with how far its GPS fix lies from the household."""

    id: int
    household_id: int
    household: str
    head_name: str | None = None
    cadre_id: int | None
    cadre: str | None
    cadre_name: str | None = None
    visited_at: datetime
    purpose: str
    notes: str | None
    lon: float | None
    lat: float | None
    fix_distance_m: float | None
    far: bool = Field(
        description="GPS fix farther than the threshold from the household"
    )


class VisitBatchOut(BaseModel):
    """The outcome of an all-or-nothing visit import."""

    inserted: int
    demands: int
    far: int
    visits: list[VisitOut]
    warnings: list[str] = Field(
        default_factory=list, description="e.g. an encoding that was detected"
    )


class DemandCreate(DemandIn):
    """A demand recorded on its own (optionally tied to a visit)."""

    household: str = Field(min_length=1, max_length=64)
    visit_id: RowId | None = None
    actor: str = Field("system", max_length=100)


class DemandTransition(StrictInput):
    """Move a demand to a new status (the ledger keeps the history)."""

    model_config = ConfigDict(extra="forbid")

    status: Status
    actor: str = Field(min_length=1, max_length=100)
    note: str | None = Field(None, max_length=4000)
    resolution: str | None = Field(None, max_length=4000)


class DemandOut(BaseModel):
    """A demand in the ledger."""

    id: int
    household_id: int
    household: str
    head_name: str | None = None
    grid_id: int | None
    visit_id: int | None
    owner_cadre_id: int | None
    owner: str | None
    owner_name: str | None = None
    category: str
    description: str
    status: str
    due_date: date | None
    overdue_days: int | None
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None


class DemandEventOut(StatusEventOut):
    """One status change of a demand."""


class ClosureRow(BaseModel):
    """Demands collected and resolved in a grid's subtree (or the township)."""

    grid_id: int | None
    code: str | None
    name: str
    level: str | None
    depth: int | None
    collected: int
    resolved: int
    in_progress: int
    escalated: int
    open: int
    overdue: int
    closure_rate: float | None
    summary: str


class ClosureReport(BaseModel):
    """A township report: the whole township, then every grid rolled up."""

    since: datetime | None
    until: datetime | None
    township: ClosureRow
    grids: list[ClosureRow]


class RuleSet(StrictInput):
    """Visit-frequency rules: days between visits per tag, and for everyone."""

    default_days: int = Field(90, ge=1, le=3660)
    tags: dict[str, int] = Field(
        default_factory=dict,
        # the validator's rule, stated for clients (its message stays the answer)
        json_schema_extra={
            "propertyNames": {"enum": list(HOUSEHOLD_TAGS)},
            "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 3660},
        },
    )

    @field_validator("tags")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        for tag, days in value.items():
            if not 1 <= days <= 3660:
                raise ValueError(f"interval for {tag!r} must be 1..3660 days")
        return value


class CoverageRow(BaseModel):
    """Households visited and up to date under the rules, in a grid or of a cadre."""

    id: int | None
    code: str | None
    name: str | None
    level: str | None = None
    depth: int | None = None
    households: int
    visited: int
    visited_share: float | None
    up_to_date: int
    up_to_date_share: float | None
    due: int
    visits: int | None = None
    far_visits: int | None = None


class CoverageReport(BaseModel):
    """Coverage for a period, per grid (rolled up) or per cadre."""

    since: datetime
    until: datetime
    rules: RuleSet
    township: CoverageRow
    rows: list[CoverageRow]


class UncoveredOut(BaseModel):
    """A household never visited or overdue under its rule."""

    household_id: int
    household: str
    head_name: str
    tags: list[str]
    grid_id: int | None
    cadre_id: int | None
    cadre: str | None
    cadre_name: str | None
    interval_days: int
    last_visit: datetime | None
    overdue_days: float | None = Field(description="null: never visited")
    distance_to_base_m: float | None
    lon: float
    lat: float


class StopOut(BaseModel):
    """One stop of a route, in visiting order."""

    seq: int
    household_id: int | None
    household: str | None
    head_name: str | None = Field(None, description="the household head's name")
    kind: str = Field(
        "household", description="household, or hazard (an open hazard's re-check)"
    )
    ref: str | None = Field(None, description="the code of a non-household stop")
    label: str | None = None
    lon: float
    lat: float
    leg_m: float = Field(description="from the previous stop (or the start)")
    cumulative_m: float
    leg_mode: str = Field(description="great_circle | road | straight_walk")
    flags: list[str] = Field(default_factory=list)


class DayRoute(BaseModel):
    """One day's route from the start."""

    day: int
    stops: list[StopOut]
    return_leg_m: float | None
    return_leg_mode: str | None = Field(
        None, description="great_circle | road | straight_walk (closed routes)"
    )
    total_m: float
    minutes: float
    optimal: bool


class RoutePlan(BaseModel):
    """An ordered visit route, split into days when there are too many stops."""

    cadre_id: int | None
    cadre: str | None = Field(default=None, description="the cadre's code")
    cadre_name: str | None = None
    start: dict[str, float]
    closed: bool
    distance: str = Field(description="great_circle | road_network")
    metric: str = Field(
        default="WGS84 ellipsoid geodesic",
        description="how every reported length is measured",
    )
    method: str
    optimal: bool
    total_m: float
    lower_bound_m: float
    gap: float
    minutes: float
    days: list[DayRoute]
    flags: list[str]
    geojson: dict[str, Any]


class CadreDayOut(BaseModel):
    """A cadre's route in a grid's balanced day plan."""

    cadre_id: int
    cadre: str
    name: str
    households: int
    route: RoutePlan


class GridDayPlan(BaseModel):
    """Due households of a grid split among its cadres, longest route minimised."""

    grid_id: int
    grid: str
    rebalanced: bool
    metric: str = Field(
        default="WGS84 ellipsoid geodesic",
        description="how every reported length is measured",
    )
    longest_m: float
    total_m: float
    cadres: list[CadreDayOut]
    left_over: list[str] = Field(description="due households beyond the day's limit")
    geojson: dict[str, Any]


class RouteOptions(StrictInput):
    """How routes are measured, timed and solved."""

    model_config = ConfigDict(extra="forbid")

    closed: bool = Field(True, description="return to the start at the end of a day")
    speed_kmh: float = Field(15.0, ge=1, le=120, description="travel speed on roads")
    walk_kmh: float = Field(4.5, ge=0.5, le=20, description="speed of off-road legs")
    roads: Literal["auto", "never"] = Field(
        "auto", description="auto: along the roads layer when the township has one"
    )
    max_snap_m: float = Field(
        250.0, gt=0, description="a stop farther than this from any road walks straight"
    )
    time_limit_s: float = Field(2.0, gt=0, le=60, description="solver time limit")
    as_of: Instant | None = Field(None, description="due households as of this time")
    extra_stops: bool = Field(
        True,
        description="add the cadre's open hazards due for a re-check (and other "
        "registered stops) to a plan of their due households",
    )


class RouteRequest(RouteOptions):
    """A cadre's due households, or chosen households, from a start point."""

    cadre: str | None = Field(None, description="cadre code: default stops and start")
    households: list[str] | None = Field(
        None, min_length=1, max_length=2000, description="household codes to visit"
    )
    start_lon: float | None = Field(None, ge=-180, le=180)
    start_lat: float | None = Field(None, ge=-90, le=90)
    per_day: int | None = Field(None, ge=1, le=500, description="stops per day at most")

    @model_validator(mode="after")
    def _choice(self) -> RouteRequest:
        if (self.start_lon is None) != (self.start_lat is None):
            raise ValueError("start_lon and start_lat must be given together")
        if self.cadre is None and self.households is None:
            raise ValueError("give a cadre or a list of households")
        return self


class DayPlanRequest(RouteOptions):
    """A day's plan for a grid: each cadre at most ``per_day`` stops."""

    per_day: int = Field(14, ge=1, le=200)
    rebalance: bool = Field(
        False, description="let any cadre take any household (default: own ones only)"
    )


class CountySummaryOut(BaseModel):
    """Coverage and closure rates (办结率) of one county's townships."""

    county: str
    townships: int
    households: int
    up_to_date: int
    never_visited: int
    demands: int
    resolved: int
    coverage_rate: float | None
    closure_rate: float | None
