"""Response bodies of the grid tree checks: hierarchy faults and integrity."""

from __future__ import annotations

from geojson_pydantic import Feature
from geojson_pydantic.geometries import Geometry
from pydantic import BaseModel, Field

from gis_service.core.pages import FeatureCollectionOut


class FaultProperties(BaseModel):
    """One fault of the grid tree: its kind, the grids involved and its size."""

    kind: str = Field(description="sibling_overlap, outside_parent, uncovered, ...")
    grids: list[str]
    area_m2: float
    length_m: float


class FaultFeature(Feature[Geometry, FaultProperties]):
    """One fault of the grid tree as a GeoJSON Feature."""


class GridChecksOut(FeatureCollectionOut[FaultFeature]):
    """The township's grid faults as GeoJSON, with counts per kind."""

    township: str
    min_width_m: float
    grids_checked: int
    counts: dict[str, int]


class GridFaults(BaseModel):
    """The grid part of the integrity report."""

    checked: int
    counts: dict[str, int]
    faults: FeatureCollectionOut[FaultFeature]


class CodeList(BaseModel):
    """How many households have a fault, and the first codes."""

    count: int
    codes: list[str]


class CadreAstray(BaseModel):
    """A cadre with households outside the cadre's home grid."""

    cadre_id: int
    code: str
    name: str
    home_grid: str | None
    households_outside: int
    household_codes: list[str]


class IntegrityOut(BaseModel):
    """Polygon and point faults together: grids, households, cadres."""

    township: str
    min_width_m: float
    grids: GridFaults
    households: dict[str, CodeList]
    unassigned: dict[str, int]
    cadres_outside_home_grid: list[CadreAstray]
