"""Grids (a tree of polygons), cadres, households, visits and demands."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false as sa_false
from sqlalchemy.sql.expression import true as sa_true

from gis_service.core.db import Base
from gis_service.core.i18n import N_
from gis_service.core.models import (
    StatusEventColumns,
    created_at,
    enum_check,
    geometry,
    township_fk,
    township_geometry,
    township_gist,
    updated_at,
)

# The tags are stored as these Chinese words (a CHECK constraint); N_ marks them
# for the catalogue, so an English page names them.
HOUSEHOLD_TAGS = (
    N_("低保"), N_("特困"), N_("防返贫监测"), N_("脱贫不稳定户"),
    N_("边缘易致贫户"), N_("突发严重困难户"), N_("空巢老人"), N_("残疾"),
    N_("留守儿童"), N_("外出务工"), N_("五保"), N_("优抚"),
)  # fmt: skip
PRIORITY_TAGS = (
    "防返贫监测", "脱贫不稳定户", "边缘易致贫户", "突发严重困难户",
    "低保", "特困", "空巢老人",
)  # fmt: skip
CADRE_ROLES = ("party_member", "grid_worker", "grid_leader", "village_cadre")
VISIT_PURPOSES = ("policy", "service", "mediation", "safety", "other")
DEMAND_CATEGORIES = (
    "employment", "medical", "education", "elderly_care", "infrastructure",
    "environment", "dispute", "safety", "other",
)  # fmt: skip
DEMAND_STATUSES = ("open", "in_progress", "resolved", "escalated")


def _tags_check() -> CheckConstraint:
    quoted = ", ".join(f"'{t}'" for t in HOUSEHOLD_TAGS)
    return CheckConstraint(f"tags <@ ARRAY[{quoted}]::varchar[]", name="tags_known")


class Grid(Base):
    """A grid polygon; ``parent_id`` builds the tree, ``level`` names its tier.

    Levels are data (core / domain / grid / ten-household unit...). ``depth`` is
    0 at the root and ``path`` ('/1/4/9/') is the materialised ancestry used to
    select a subtree with one indexed prefix match.
    """

    __tablename__ = "grids"
    __table_args__ = (
        township_gist("grids", "geom"),
        PrimaryKeyConstraint("township_code", "id"),
        UniqueConstraint("township_code", "code"),
        ForeignKeyConstraint(
            ["township_code", "parent_id"], ["grids.township_code", "grids.id"]
        ),
        CheckConstraint("depth >= 0", name="depth_nonnegative"),
        Index("ix_grids_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity())
    township_code: Mapped[str] = township_fk(index=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    level: Mapped[str] = mapped_column(String(50), nullable=False)
    depth: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="0")
    parent_id: Mapped[int | None] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(Text, nullable=False, server_default="/")
    geom = mapped_column(township_geometry("MULTIPOLYGON"), nullable=False)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Cadre(Base):
    """A party member or grid worker responsible for ~12-14 households."""

    __tablename__ = "cadres"
    __table_args__ = (
        township_gist("cadres", "base"),
        PrimaryKeyConstraint("township_code", "id"),
        UniqueConstraint("township_code", "code"),
        ForeignKeyConstraint(
            ["township_code", "home_grid_id"], ["grids.township_code", "grids.id"]
        ),
        enum_check("role", CADRE_ROLES, "role_known"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity())
    township_code: Mapped[str] = township_fk(index=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str] = mapped_column(
        String(20), nullable=False, server_default="grid_worker"
    )
    phone: Mapped[str | None] = mapped_column(String(20))
    home_grid_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    capacity: Mapped[int] = mapped_column(
        SmallInteger, nullable=False, server_default="14"
    )
    active: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=sa_true()
    )
    # where their walks start (home / office)
    base = mapped_column(township_geometry("POINT"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Household(Base):
    """A resident household (户): a point, its people and tags.

    Its grid and cadre live in ``household_assignments``; ``grid_id`` and
    ``cadre_id`` here are the database's copy of them (migration 0160: kept
    equal by triggers, never written by the application), which the row
    policies test and reads use: joining the partitioned assignments (their
    policies too) cost every list and coverage statement a hash of the scope's
    assignments. The view ``households_assigned`` also has the assignment's
    own columns (pinned, reason, assigned_at). LIST-partitioned by township
    (migration 0070):
    a township's first import builds and attaches its own partition
    (``layers.io.first_load``); other households land in ``households_default``.
    """

    __tablename__ = "households"
    __table_args__ = (
        PrimaryKeyConstraint("township_code", "id"),
        UniqueConstraint("township_code", "code"),
        CheckConstraint("members >= 0", name="members_nonnegative"),
        _tags_check(),
        Index("ix_households_scope_grid", "grid_id", "township_code"),
        Index("ix_households_scope_cadre", "cadre_id", "township_code"),
        {"postgresql_partition_by": "LIST (township_code)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity())
    township_code: Mapped[str] = township_fk(index=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    head_name: Mapped[str] = mapped_column(String(100), nullable=False)
    members: Mapped[int] = mapped_column(
        SmallInteger, nullable=False, server_default="1"
    )
    village: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), nullable=False, server_default="{}"
    )
    id_number: Mapped[str | None] = mapped_column(String(18))  # personal data: masked
    phone: Mapped[str | None] = mapped_column(String(20))  # personal data: masked
    geom = mapped_column(geometry("POINT"), nullable=False)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    # scope keys: the assignment's grid and cadre, kept by the database (0160)
    grid_id: Mapped[int | None] = mapped_column(BigInteger)
    cadre_id: Mapped[int | None] = mapped_column(BigInteger)


class Visit(Base):
    """A cadre's visit (走访) to a household, with the GPS fix where it was logged."""

    __tablename__ = "visits"
    __table_args__ = (
        township_gist("visits", "fix"),
        PrimaryKeyConstraint("township_code", "id"),
        ForeignKeyConstraint(
            ["township_code", "household_id"],
            ["households.township_code", "households.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["township_code", "cadre_id"], ["cadres.township_code", "cadres.id"]
        ),
        enum_check("purpose", VISIT_PURPOSES, "purpose_known"),
        # a township's last visits by an index-only scan (migration 0150)
        Index(
            "ix_visits_township_household_time",
            "township_code",
            "household_id",
            "visited_at",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity())
    township_code: Mapped[str] = township_fk(index=False)
    household_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    cadre_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    visited_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False
    )
    purpose: Mapped[str] = mapped_column(
        String(20), nullable=False, server_default="service"
    )
    notes: Mapped[str | None] = mapped_column(Text)
    fix = mapped_column(
        township_geometry("POINT")
    )  # GPS fix where the visit was recorded
    created_at: Mapped[datetime] = created_at()


class Demand(Base):
    """A demand (诉求) raised on a visit, followed until it is resolved."""

    __tablename__ = "demands"
    __table_args__ = (
        PrimaryKeyConstraint("township_code", "id"),
        ForeignKeyConstraint(
            ["township_code", "household_id"],
            ["households.township_code", "households.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["township_code", "visit_id"], ["visits.township_code", "visits.id"]
        ),
        ForeignKeyConstraint(
            ["township_code", "owner_cadre_id"], ["cadres.township_code", "cadres.id"]
        ),
        enum_check("category", DEMAND_CATEGORIES, "category_known"),
        enum_check("status", DEMAND_STATUSES, "status_known"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity())
    township_code: Mapped[str] = township_fk(index=False)
    household_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    visit_id: Mapped[int | None] = mapped_column(BigInteger)
    owner_cadre_id: Mapped[int | None] = mapped_column(BigInteger)
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(
        String(20), nullable=False, server_default="open"
    )
    due_date: Mapped[date | None] = mapped_column(Date)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class DemandEvent(StatusEventColumns, Base):
    """One status change of a demand: who, when, from, to, note."""

    __tablename__ = "demand_events"
    __table_args__ = (
        PrimaryKeyConstraint("township_code", "id"),
        ForeignKeyConstraint(
            ["township_code", "demand_id"],
            ["demands.township_code", "demands.id"],
            ondelete="CASCADE",
        ),
    )

    demand_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)


class VisitRule(Base):
    """How often households with a tag must be visited; tag '*' is everyone's rule."""

    __tablename__ = "visit_rules"
    __table_args__ = (
        CheckConstraint("interval_days > 0", name="interval_positive"),
        CheckConstraint(
            "tag = '*' OR tag IN (" + ", ".join(f"'{t}'" for t in HOUSEHOLD_TAGS) + ")",
            name="tag_known",
        ),
    )

    township_code: Mapped[str] = mapped_column(
        String(12),
        ForeignKey("townships.code", ondelete="CASCADE"),
        primary_key=True,
    )
    tag: Mapped[str] = mapped_column(String(20), primary_key=True)
    interval_days: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    updated_at: Mapped[datetime] = updated_at()


# Indexes for coverage per cadre and the overdue-demand lists (migration 0030).
Index(
    "ix_visits_township_cadre_time",
    Visit.township_code,
    Visit.cadre_id,
    Visit.visited_at,
)
Index(
    "ix_demands_township_status_due",
    Demand.township_code,
    Demand.status,
    Demand.due_date,
)


ASSIGNMENT_REASONS = ("outside_every_grid", "grid_has_no_cadre", "capacity_exhausted")


class HouseholdAssignment(Base):
    """A household's grid and cadre (or why it has none), one partition per township.

    Kept apart from the wide ``households`` row so a full re-run builds a fresh
    narrow partition (COPY, primary key, then ATTACH, which checks the foreign
    keys in one bulk query) instead of updating a million indexed rows.
    Partitions are created by ``grids.assignment.store``. Two secondary indexes,
    on the columns the grid leaders' and cadres' row policies probe (migration
    0151: a cadre's scope is a few rows of a 100 000-row partition); ATTACH
    builds them on a fresh partition.
    """

    __tablename__ = "household_assignments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["township_code", "household_id"],
            ["households.township_code", "households.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["township_code", "grid_id"], ["grids.township_code", "grids.id"]
        ),
        ForeignKeyConstraint(
            ["township_code", "cadre_id"], ["cadres.township_code", "cadres.id"]
        ),
        enum_check("reason", ASSIGNMENT_REASONS, "reason_known"),
        Index("ix_household_assignments_cadre", "cadre_id"),
        Index("ix_household_assignments_grid", "grid_id"),
        {"postgresql_partition_by": "LIST (township_code)"},
    )

    township_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    household_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    grid_id: Mapped[int | None] = mapped_column(BigInteger)
    cadre_id: Mapped[int | None] = mapped_column(BigInteger)
    pinned: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=sa_false()
    )
    reason: Mapped[str | None] = mapped_column(Text)  # why no cadre (NULL: has one)
    assigned_at: Mapped[datetime] = created_at()


__all__ = [
    "ASSIGNMENT_REASONS", "CADRE_ROLES", "DEMAND_CATEGORIES", "DEMAND_STATUSES",
    "HOUSEHOLD_TAGS", "PRIORITY_TAGS", "VISIT_PURPOSES", "Cadre", "Demand",
    "DemandEvent", "Grid", "Household", "HouseholdAssignment", "Visit", "VisitRule",
]  # fmt: skip
