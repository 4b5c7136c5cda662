"""Response and request bodies of the grids package (assignment, reports, checks)."""

from __future__ import annotations

from typing import Any

from geojson_pydantic import Feature, Point
from pydantic import BaseModel, Field, model_validator

from gis_service.core.inputs import StrictInput
from gis_service.core.pages import FeaturePage


class ScoreOut(BaseModel, frozen=True):
    """One cadre assignment scored: distances, loads and priority spread."""

    objective: int = Field(
        description="total distance (m) + penalty per priority household over its share"
    )
    total_distance_m: float
    mean_distance_m: float
    max_load: int
    max_priority_per_cadre: int
    priority_over_fair_share: int
    unassigned: int


class OutsideHousehold(BaseModel):
    """A household covered by no grid, and how far the nearest grid is."""

    household_id: int
    code: str
    nearest_grid: str | None
    distance_m: float | None


class AssignmentSummary(BaseModel):
    """What one assignment run changed."""

    township: str
    households: int = Field(description="households considered in this run")
    in_grid: int
    outside_every_grid: int
    grid_changed: int
    cadre_assigned: int
    newly_assigned: int = Field(description="had no cadre before, have one now")
    churn: int = Field(description="had a cadre before and now another one or none")
    pinned_kept: int
    unassigned: dict[str, int] = Field(description="households without cadre by reason")
    rows_written: int
    optimiser: ScoreOut
    greedy_baseline: ScoreOut
    outside: list[OutsideHousehold]
    seconds: float


class GridRollup(BaseModel):
    """One grid with everything below it in the tree."""

    grid_id: int
    code: str
    name: str
    level: str
    depth: int
    parent_code: str | None
    households: int
    people: int
    priority_households: int
    tagged: dict[str, int]
    cadres: int
    capacity: int
    assigned: int
    unassigned: int
    load_per_cadre: float | None
    cadres_needed: int = Field(description="extra cadres (capacity 14) to cover all")
    shortfall: str | None


class CadreLoad(BaseModel):
    """One cadre's load against capacity."""

    cadre_id: int
    code: str
    name: str
    grid_code: str | None
    capacity: int
    active: bool
    load: int
    priority_load: int
    pinned: int
    mean_distance_m: float | None


class RedrawGrid(StrictInput):
    """A new (unsaved) outline for one grid."""

    code: str
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon")


class RedrawIn(StrictInput):
    """A redraw of one or more grids."""

    grids: list[RedrawGrid] = Field(min_length=1)

    @model_validator(mode="after")
    def _codes_unique(self) -> RedrawIn:
        """A grid named twice would make the preview ambiguous: refuse it."""
        codes = [g.code for g in self.grids]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"grid(s) {', '.join(twice)} appear more than once")
        return self


class HouseholdChange(BaseModel):
    """A household whose grid or cadre would change."""

    household_id: int
    code: str
    old_grid: str | None
    new_grid: str | None
    old_cadre: str | None
    new_cadre: str | None


class CadreChange(BaseModel):
    """A cadre whose set of households would change."""

    cadre_id: int
    code: str
    gains: int
    losses: int
    load_before: int
    load_after: int


class RedrawOut(BaseModel):
    """Households and cadres whose assignment changes with the redraw."""

    township: str
    saved: bool
    grids: list[str]
    households: list[HouseholdChange]
    cadres: list[CadreChange]


class UnassignedProperties(BaseModel):
    """A household without a cadre: why, and (outside every grid) the nearest one."""

    id: int
    code: str
    village: str | None
    grid: str | None
    reason: str
    nearest_grid: str | None
    distance_m: float | None


class UnassignedFeature(Feature[Point, UnassignedProperties]):
    """A household without a cadre as a GeoJSON point."""


class UnassignedPage(FeaturePage[UnassignedFeature]):
    """A page of households without a cadre, as GeoJSON points."""

    township: str
    reason: str | None
