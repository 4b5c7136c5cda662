"""Request and response schemas of pasture-dispute detection and review."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from gis_service.core.inputs import StrictInput
from gis_service.core.pages import AnyFeature, FeatureCollectionOut, Page
from gis_service.core.settings import DisputeSettings
from gis_service.core.workflow import StatusEventOut

ReviewStatus = Literal["mediating", "resolved", "dismissed"]
FindingKind = Literal["sliver", "self_overlap", "area_mismatch", "invalid_geometry"]


class DetectionCreate(StrictInput):
    """A detection run; thresholds left out take the configured defaults."""

    # Upper bounds keep the SQL arithmetic finite (1e307 overflowed a double).
    min_area_m2: float | None = Field(
        default=None,
        ge=0,
        le=1e12,
        description="overlaps smaller than this (m²) are slivers",
    )
    min_width_m: float | None = Field(
        default=None,
        ge=0,
        le=1e6,
        description="overlaps thinner than this mean width 2·A/P (m) are slivers",
    )
    min_share: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="optional: overlaps under this share of the smaller parcel are "
        "slivers too (0, the default, turns the rule off)",
    )
    area_tolerance: float | None = Field(
        default=None,
        gt=0,
        le=1000,
        description="flag parcels whose mapped area differs from the contract by more",
    )
    actor: str = Field(default="detection", min_length=1, max_length=100)
    dry_run: bool = Field(
        default=False,
        description="report what would open, update, close and reopen; write nothing",
    )

    def thresholds(self, defaults: DisputeSettings) -> DisputeSettings:
        """The thresholds of this run: the given values over the defaults."""
        given = self.model_dump(exclude_none=True, exclude={"actor", "dry_run"})
        return defaults.model_copy(update=given)


class DetectionOut(BaseModel):
    """What one detection run found and changed."""

    run_id: int | None = Field(description="none for a dry run (nothing stored)")
    dry_run: bool = False
    township: str
    parcels: int
    min_area_m2: float
    min_width_m: float
    min_share: float
    area_tolerance: float
    new: int = Field(
        description="disputes raised for the first time (or that would be)"
    )
    updated: int = Field(description="known disputes whose overlap changed")
    reopened: int = Field(description="auto-closed disputes whose overlap came back")
    closed: int = Field(description="open/mediating disputes closed automatically")
    detected: int = Field(description="pairs over the thresholds in this run")
    slivers: int
    self_overlaps: int
    area_mismatches: int
    invalid_parcels: int
    duration_ms: float


class DisputeHolder(BaseModel):
    """The household holding a parcel, its grid and responsible cadre (masked)."""

    household_id: int
    household_code: str
    head_name: str
    village: str | None = None
    phone: str | None = None
    id_number: str | None = None
    grid_id: int | None = None
    grid_code: str | None = None
    grid_name: str | None = None
    cadre_id: int | None = None
    cadre_code: str | None = None
    cadre_name: str | None = None
    cadre_phone: str | None = None


class DisputeParcel(BaseModel):
    """One side of a dispute."""

    side: Literal["a", "b"]
    parcel_id: int
    contract_no: str
    contract_area_mu: float | None
    mapped_area_mu: float
    holder: DisputeHolder | None


class DisputeEventOut(StatusEventOut):
    """One step of a dispute's history."""


class DisputeRecord(BaseModel):
    """The dispute itself: status, overlap, dates and the next allowed steps."""

    id: int
    township: str
    status: str
    overlap_area_m2: float
    overlap_area_mu: float
    first_detected_at: datetime
    last_detected_at: datetime
    closed_reason: str | None
    allowed_transitions: list[str]


class DisputeOut(DisputeRecord):
    """A dispute with both parcels and their holders."""

    parcels: list[DisputeParcel]


class DisputeDetailOut(DisputeOut):
    """A dispute with its history."""

    events: list[DisputeEventOut]


class DisputeRecordOut(DisputeRecord):
    """The dispute member of the GeoJSON view: the record and its history."""

    events: list[DisputeEventOut]


class DisputeFeatures(FeatureCollectionOut[AnyFeature]):
    """Both parcels and the overlap as GeoJSON, the dispute as a foreign member."""

    dispute: DisputeRecordOut


class DisputeList(Page[DisputeOut]):
    """One page of disputes."""


class TransitionCreate(StrictInput):
    """A review step: who moves the dispute to which status, and why."""

    to: ReviewStatus
    actor: str = Field(min_length=1, max_length=100)
    note: str | None = Field(default=None, max_length=2000)


class DisputeSummaryOut(BaseModel):
    """Dispute counts by status and the contested area of a township."""

    township: str
    by_status: dict[str, int]
    open_disputes: int = Field(description="open + mediating")
    contested_area_m2: float = Field(description="union of open/mediating overlaps")
    contested_area_mu: float
    last_run: DetectionOut | None


class FindingOut(BaseModel):
    """A data-quality finding of the latest run."""

    kind: FindingKind
    parcel_id: int
    contract_no: str
    other_parcel_id: int | None
    other_contract_no: str | None
    area_m2: float | None
    mapped_mu: float | None
    contract_mu: float | None
    detail: str | None


class FindingList(Page[FindingOut]):
    """One page of findings of the latest run (``run_id``)."""

    run_id: int | None
