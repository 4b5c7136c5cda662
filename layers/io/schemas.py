"""Request and response schemas of the layers API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gis_service.core.inputs import StrictInput


class RepairOut(BaseModel):
    """What ``repair`` changed in one feature."""

    feature: int
    code: str | None
    was: str
    now: str


class ImportReport(BaseModel):
    """The outcome of an import: counts, and whether anything was written."""

    layer: str
    township: str
    features: int = Field(description="features read from the file")
    inserted: int
    updated: int
    unchanged: int
    rejected: int = 0
    dry_run: bool
    written: bool = Field(description="false for a dry run: nothing was written")
    crs: str = Field(description="the coordinate system the file was read in")
    source_layer: str | None = None
    warnings: list[str] = []
    repairs: list[RepairOut] = []


class GeoJSONGeometry(BaseModel):
    """A GeoJSON geometry (RFC 7946 §3.1): its type and its coordinates."""

    model_config = ConfigDict(extra="allow")  # bbox, foreign members

    type: Literal[
        "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
        "MultiPolygon",
    ]  # fmt: skip
    coordinates: list[Any]


class FeatureUpdate(StrictInput):
    """A PATCH: some properties and/or a new geometry (GeoJSON, EPSG:4326)."""

    properties: dict[str, Any] = Field(default_factory=dict)
    geometry: GeoJSONGeometry | None = None
