"""Request and response bodies of the service-wide routes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from gis_service.core.inputs import StrictInput


class TownshipUpdate(StrictInput):
    """A township's name and county, for ``PUT /townships/{township}``."""

    name: str = Field(min_length=1, max_length=100, examples=["抓喜秀龙镇"])
    county: str | None = Field(
        default=None,
        max_length=100,
        examples=["天祝藏族自治县"],
        description="omitted keeps the county on file; an empty string clears it",
    )


class TownshipOut(BaseModel):
    """A saved township; ``created`` is false when it existed and was renamed."""

    code: str
    name: str
    county: str | None
    created: bool


class HealthOut(BaseModel):
    """Service and database health."""

    status: str = Field(examples=["ok"])
    database: str = Field(examples=["ok"])
    gridgis: str
    postgresql: str
    postgis: str
    postgis_full: str


class TownshipListItem(BaseModel):
    """A township served here, with its household count."""

    code: str
    name: str
    county: str | None
    households: int


class TownshipSummaryOut(BaseModel):
    """Row counts of every layer in one township."""

    code: str
    counts: dict[str, int]
