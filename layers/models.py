"""Pasture parcels, hazards, roads and pasture-boundary disputes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKeyConstraint,
    Identity,
    Index,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gis_service.core.db import Base
from gis_service.core.i18n import N_
from gis_service.core.models import (
    StatusEventColumns,
    created_at,
    enum_check,
    township_fk,
    township_geometry,
    township_gist,
    updated_at,
)

HAZARD_KINDS = (
    "fire", "flood", "landslide", "road", "building", "electrical", "other",
)  # fmt: skip
HAZARD_KIND_LABELS = {
    "fire": N_("火灾"), "flood": N_("洪涝"), "landslide": N_("滑坡"),
    "road": N_("道路"), "building": N_("房屋"), "electrical": N_("用电"),
    "other": N_("其他"),
}  # fmt: skip
# below a metre is no zone (and 5e-324 underflowed PostgreSQL's float8: a 500)
MIN_WARN_RADIUS_M = 1.0
MAX_WARN_RADIUS_M = 50_000.0  # a larger radius is a typo, not a warning zone
HAZARD_SEVERITIES = ("low", "medium", "high", "critical")
HAZARD_STATUSES = ("found", "rectifying", "closed")
DISPUTE_STATUSES = ("open", "mediating", "resolved", "dismissed", "closed")


class PastureParcel(Base):
    """A contracted pasture parcel (承包草场) held by one household."""

    __tablename__ = "pasture_parcels"
    __table_args__ = (
        # GIST (geom) alone: 4x cheaper per probe than (township_code, geom), see
        # migration 0150 (detection keeps the township test off the index itself)
        Index("idx_pasture_parcels_geom", "geom", postgresql_using="gist"),
        PrimaryKeyConstraint("township_code", "id"),
        UniqueConstraint("township_code", "contract_no"),
        ForeignKeyConstraint(
            ["township_code", "holder_household_id"],
            ["households.township_code", "households.id"],
        ),
        CheckConstraint(
            "contract_area_mu IS NULL OR contract_area_mu > 0", name="area_positive"
        ),
        Index("ix_pasture_parcels_scope_grid", "holder_grid_id", "township_code"),
        Index("ix_pasture_parcels_scope_cadre", "holder_cadre_id", "township_code"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity())
    township_code: Mapped[str] = township_fk(index=False)
    contract_no: Mapped[str] = mapped_column(String(64), nullable=False)
    holder_household_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    contract_area_mu: Mapped[float | None] = mapped_column(Numeric(12, 2))
    geom = mapped_column(township_geometry("MULTIPOLYGON"), nullable=False)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    # scope keys: the holder's grid and cadre, kept by the database (0160)
    holder_grid_id: Mapped[int | None] = mapped_column(BigInteger)
    holder_cadre_id: Mapped[int | None] = mapped_column(BigInteger)


class Hazard(Base):
    """A located hazard (隐患), followed found → rectifying → closed."""

    __tablename__ = "hazards"
    __table_args__ = (
        township_gist("hazards", "geom"),
        PrimaryKeyConstraint("township_code", "id"),
        UniqueConstraint("township_code", "code"),
        ForeignKeyConstraint(
            ["township_code", "grid_id"], ["grids.township_code", "grids.id"]
        ),
        enum_check("kind", HAZARD_KINDS, "kind_known"),
        enum_check("severity", HAZARD_SEVERITIES, "severity_known"),
        enum_check("status", HAZARD_STATUSES, "status_known"),
        CheckConstraint(
            "warn_radius_m IS NULL OR (warn_radius_m > 0 AND warn_radius_m <= 50000)",
            name="warn_radius_range",
        ),
        CheckConstraint(
            "GeometryType(geom) IN ('POINT', 'MULTIPOLYGON')",
            name="geom_point_or_polygon",
        ),
        ForeignKeyConstraint(
            ["township_code", "cadre_id"], ["cadres.township_code", "cadres.id"]
        ),
        Index("ix_hazards_cadre", "township_code", "cadre_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity())
    township_code: Mapped[str] = township_fk(index=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    severity: Mapped[str] = mapped_column(
        String(20), nullable=False, server_default="medium"
    )
    status: Mapped[str] = mapped_column(
        String(20), nullable=False, server_default="found"
    )
    description: Mapped[str | None] = mapped_column(Text)
    # NULL: the kind's default radius (settings.hazards.warn_radius_m)
    warn_radius_m: Mapped[float | None] = mapped_column(Double)
    found_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    deadline: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    grid_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    cadre_id: Mapped[int | None] = mapped_column(BigInteger)  # NULL: grid's nearest
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    geom = mapped_column(
        township_geometry("GEOMETRY"), nullable=False
    )  # point or polygon
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Road(Base):
    """A road or track (LineString) used for routing along the network."""

    __tablename__ = "roads"
    __table_args__ = (
        township_gist("roads", "geom"),
        PrimaryKeyConstraint("township_code", "id"),
        UniqueConstraint("township_code", "code"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity())
    township_code: Mapped[str] = township_fk(index=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(50))
    geom = mapped_column(township_geometry("MULTILINESTRING"), nullable=False)
    created_at: Mapped[datetime] = created_at()


class Dispute(Base):
    """A suspected boundary dispute: two parcels of different holders overlapping.

    Identity is the parcel pair (``parcel_a_id < parcel_b_id``), so re-running
    detection updates the same record instead of creating a new one.
    """

    __tablename__ = "disputes"
    __table_args__ = (
        township_gist("disputes", "overlap"),
        PrimaryKeyConstraint("township_code", "id"),
        UniqueConstraint("township_code", "parcel_a_id", "parcel_b_id"),
        ForeignKeyConstraint(
            ["township_code", "parcel_a_id"],
            ["pasture_parcels.township_code", "pasture_parcels.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["township_code", "parcel_b_id"],
            ["pasture_parcels.township_code", "pasture_parcels.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("parcel_a_id < parcel_b_id", name="pair_ordered"),
        enum_check("status", DISPUTE_STATUSES, "status_known"),
        Index("ix_disputes_scope_grid_a", "grid_a_id", "township_code"),
        Index("ix_disputes_scope_grid_b", "grid_b_id", "township_code"),
        Index("ix_disputes_scope_cadre_a", "cadre_a_id", "township_code"),
        Index("ix_disputes_scope_cadre_b", "cadre_b_id", "township_code"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity())
    township_code: Mapped[str] = township_fk(index=False)
    parcel_a_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    parcel_b_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(
        String(20), nullable=False, server_default="open"
    )
    overlap = mapped_column(township_geometry("MULTIPOLYGON"))
    overlap_area_m2: Mapped[float] = mapped_column(Double, nullable=False)
    first_detected_at: Mapped[datetime] = created_at()
    last_detected_at: Mapped[datetime] = created_at()
    closed_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = updated_at()
    # scope keys: each parcel's holder's grid and cadre, kept by the database (0160)
    grid_a_id: Mapped[int | None] = mapped_column(BigInteger)
    cadre_a_id: Mapped[int | None] = mapped_column(BigInteger)
    grid_b_id: Mapped[int | None] = mapped_column(BigInteger)
    cadre_b_id: Mapped[int | None] = mapped_column(BigInteger)


class DisputeEvent(StatusEventColumns, Base):
    """One step in a dispute's history: who, when, from, to and a note."""

    __tablename__ = "dispute_events"
    __table_args__ = (
        PrimaryKeyConstraint("township_code", "id"),
        ForeignKeyConstraint(
            ["township_code", "dispute_id"],
            ["disputes.township_code", "disputes.id"],
            ondelete="CASCADE",
        ),
    )

    dispute_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)


FINDING_KINDS = ("sliver", "self_overlap", "area_mismatch", "invalid_geometry")


class DisputeRun(Base):
    """One run of dispute detection: the thresholds used and what it found."""

    __tablename__ = "dispute_runs"
    __table_args__ = (PrimaryKeyConstraint("township_code", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity())
    township_code: Mapped[str] = township_fk()
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    min_area_m2: Mapped[float] = mapped_column(Double, nullable=False)
    min_width_m: Mapped[float] = mapped_column(Double, nullable=False)
    min_share: Mapped[float] = mapped_column(Double, nullable=False)
    area_tolerance: Mapped[float] = mapped_column(Double, nullable=False)
    parcels: Mapped[int] = mapped_column(BigInteger, nullable=False)
    disputes_new: Mapped[int] = mapped_column(BigInteger, nullable=False)
    disputes_updated: Mapped[int] = mapped_column(BigInteger, nullable=False)
    disputes_reopened: Mapped[int] = mapped_column(BigInteger, nullable=False)
    disputes_closed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    disputes_seen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    slivers: Mapped[int] = mapped_column(BigInteger, nullable=False)
    self_overlaps: Mapped[int] = mapped_column(BigInteger, nullable=False)
    area_mismatches: Mapped[int] = mapped_column(BigInteger, nullable=False)
    invalid_parcels: Mapped[int] = mapped_column(BigInteger, nullable=False)
    duration_ms: Mapped[float] = mapped_column(Double, nullable=False)
    run_at: Mapped[datetime] = created_at()


class ParcelFinding(Base):
    """A data-quality finding of the latest detection run (not a dispute).

    Slivers and same-holder overlaps carry the other parcel and the overlap;
    area mismatches the mapped and contract areas; invalid geometries the reason.
    Each run replaces the township's findings.
    """

    __tablename__ = "parcel_findings"
    __table_args__ = (
        township_gist("parcel_findings", "geom"),
        PrimaryKeyConstraint("township_code", "id"),
        ForeignKeyConstraint(
            ["township_code", "run_id"],
            ["dispute_runs.township_code", "dispute_runs.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["township_code", "parcel_id"],
            ["pasture_parcels.township_code", "pasture_parcels.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["township_code", "other_parcel_id"],
            ["pasture_parcels.township_code", "pasture_parcels.id"],
            ondelete="CASCADE",
        ),
        enum_check("kind", FINDING_KINDS, "kind_known"),
        # The FKs to parcels need these, or deleting parcels (a re-import)
        # scans the findings once per parcel.
        Index("ix_parcel_findings_parcel", "township_code", "parcel_id"),
        Index("ix_parcel_findings_other_parcel", "township_code", "other_parcel_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity())
    township_code: Mapped[str] = township_fk()
    run_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    parcel_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    other_parcel_id: Mapped[int | None] = mapped_column(BigInteger)
    area_m2: Mapped[float | None] = mapped_column(Double)
    mapped_mu: Mapped[float | None] = mapped_column(Double)
    contract_mu: Mapped[float | None] = mapped_column(Double)
    detail: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(
        township_geometry("GEOMETRY")
    )  # the overlap, or where it is invalid


# disputes' unique (township_code, parcel_a_id, parcel_b_id) serves the FK on
# parcel_a_id; parcel_b_id needs its own index, or every parcel deleted (a
# re-import) scans the disputes.
Index("ix_disputes_parcel_b", Dispute.township_code, Dispute.parcel_b_id)
