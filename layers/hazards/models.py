"""The hazard ledger's events and the shelters a warned household goes to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gis_service.core.db import Base
from gis_service.core.models import (
    StatusEventColumns,
    created_at,
    enum_check,
    township_fk,
    township_geometry,
    township_gist,
    updated_at,
)

EVENT_KINDS = ("found", "move", "check")


class HazardEvent(StatusEventColumns, Base):
    """One step of a hazard (排查/整改/销号) or a re-check: who, when, note, photos."""

    __tablename__ = "hazard_events"
    __table_args__ = (
        ForeignKeyConstraint(
            ["township_code", "hazard_id"],
            ["hazards.township_code", "hazards.id"],
            ondelete="CASCADE",
        ),
        PrimaryKeyConstraint("township_code", "id"),
        enum_check("kind", EVENT_KINDS, "kind_known"),
        Index("ix_hazard_events_hazard", "township_code", "hazard_id"),
    )

    hazard_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # found/move/check
    attachments: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default="{}"
    )


class Shelter(Base):
    """A designated shelter point (避险安置点) where warned households go."""

    __tablename__ = "shelters"
    __table_args__ = (
        township_gist("shelters", "geom"),
        PrimaryKeyConstraint("township_code", "id"),
        UniqueConstraint("township_code", "code"),
        CheckConstraint(
            "capacity IS NULL OR capacity >= 0", name="capacity_nonnegative"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity())
    township_code: Mapped[str] = township_fk(index=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    address: Mapped[str | None] = mapped_column(String(200))
    capacity: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(String(20))
    geom = mapped_column(township_geometry("POINT"), nullable=False)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
