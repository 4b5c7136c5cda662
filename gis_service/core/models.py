"""Shared model pieces: the township every row belongs to, and column helpers.

Every table carries ``township_code`` (the 12-digit statistical division code) and
its primary key ``(township_code, id)``, and references other rows through composite
foreign keys ``(township_code, x_id)``. That makes it impossible for a row to point
into another township, and it is the co-location key for distributing the tables
later (Citus) or partitioning them by region.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geoalchemy2 import Geometry

from gis_service.core.db import Base

TOWNSHIP_CODE_PATTERN = r"^[0-9]{12}$"
# Columns the database fills: never in an INSERT column list.
MANAGED_COLUMNS = frozenset({"id", "created_at", "updated_at"})
# Scope keys the database copies onto rows for the row policies (migration 0160:
# triggers keep them equal to the assignments): never written by a loader either.
SCOPE_KEYS = {
    "households": frozenset({"grid_id", "cadre_id"}),
    "pasture_parcels": frozenset({"holder_grid_id", "holder_cadre_id"}),
    "disputes": frozenset({"grid_a_id", "cadre_a_id", "grid_b_id", "cadre_b_id"}),
}


def geometry(kind: str) -> Any:
    """A geometry column type in EPSG:4326 with a GIST index (GeoAlchemy2's default)."""
    return Geometry(kind, srid=4326, spatial_index=True)


def township_geometry(kind: str) -> Any:
    """A geometry column indexed by ``township_gist`` instead of on its own."""
    return Geometry(kind, srid=4326, spatial_index=False)


def township_gist(table: str, column: str) -> Index:
    """GIST (township_code, column): one probe finds one township's rows near a shape.

    With GIST (column) alone the planner ANDed the primary key's township range
    into every probe (a whole township read per parcel: detection 3.3x slower
    among 40 townships than alone; migration 0120, btree_gist).
    """
    return Index(
        f"idx_{table}_township_{column}", "township_code", column,
        postgresql_using="gist",
    )  # fmt: skip


def enum_check(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    """A CHECK constraint holding a column to an enumeration (values are constants)."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


def township_fk(*, index: bool = True) -> Mapped[str]:
    """The township column every table has.

    Pass ``index=False`` when a UNIQUE (township_code, ...) key already serves
    township lookups: a second, single-column index only costs every insert.
    """
    return mapped_column(
        String(12),
        ForeignKey("townships.code", ondelete="CASCADE"),
        nullable=False,
        index=index,
    )


def created_at() -> Mapped[datetime]:
    """Creation timestamp set by the database."""
    return mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


def updated_at() -> Mapped[datetime]:
    """Update timestamp set by the database and by ORM updates."""
    return mapped_column(
        DateTime(timezone=True),
        server_default=func.now(),
        onupdate=func.now(),
        nullable=False,
    )


class StatusEventColumns:
    """The columns of one workflow step (demands, disputes, later hazards).

    Each event table adds its own ``<item>_id``, the composite foreign key and
    ``PRIMARY KEY (township_code, id)``; who, when, from, to and a note are
    written once, here.
    """

    id: Mapped[int] = mapped_column(BigInteger, Identity())
    township_code: Mapped[str] = township_fk()
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20), nullable=False)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = created_at()


class Township(Base):
    """A township (乡镇): the unit every other row belongs to."""

    __tablename__ = "townships"
    __table_args__ = (
        CheckConstraint(f"code ~ '{TOWNSHIP_CODE_PATTERN}'", name="code_12_digits"),
    )

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    county: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at()


class Job(Base):
    """A long job's ledger row (``gis_service.core.jobs``); a coordinator table."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')",
            name="status_known",
        ),
        Index("ix_jobs_township_code_created_at", "township_code", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    township_code: Mapped[str | None] = mapped_column(
        String(12), ForeignKey("townships.code", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default="{}"
    )
    upload: Mapped[bytes | None] = mapped_column(LargeBinary)
    upload_name: Mapped[str | None] = mapped_column(Text)
    output: Mapped[bytes | None] = mapped_column(LargeBinary)
    output_type: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(20), nullable=False, server_default="queued"
    )
    stage: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default="{}"
    )
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    problem: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyKey(Base):
    """The first answer of a POST sent with ``Idempotency-Key`` (kept 24 hours)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_at()
    status: Mapped[int | None] = mapped_column(SmallInteger)
    content_type: Mapped[str | None] = mapped_column(Text)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)


# -- the models as the one source of column lists ---------------------------------
def table_of(name: str) -> Table:
    """The ORM table ``name`` (its package's models must have been imported)."""
    try:
        return Base.metadata.tables[name]
    except KeyError:
        raise KeyError(f"no ORM model for table {name!r} (models imported?)") from None


def insert_columns(name: str, *, only: Iterable[str] | None = None) -> list[str]:
    """The columns an INSERT into ``name`` writes, in model order.

    ``only`` narrows them to those a source provides; a name there that the
    model lacks is an error, so a loader cannot drift from the schema unnoticed.
    """
    table = table_of(name)
    kept = MANAGED_COLUMNS | SCOPE_KEYS.get(name, frozenset())
    columns = [c.name for c in table.columns if c.name not in kept]
    if only is None:
        return columns
    wanted = set(only)
    unknown = sorted(wanted - set(table.c.keys()))
    if unknown:
        raise ValueError(f"{name} has no column(s) {unknown}")
    return [c for c in columns if c in wanted]


def column_defs(name: str, columns: Iterable[str]) -> str:
    """``col type, ...`` with the model's PostgreSQL types (staging, recordsets)."""
    table = table_of(name)
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return ", ".join(f"{c} {table.c[c].type.compile(dialect=dialect)}" for c in columns)


def _row_columns(name: str) -> list[str]:
    return [c for c in insert_columns(name) if c != "township_code"]


# ``.sql`` fragments: {{columns:households}} -> the row columns of the households
# model; {{column_defs:households}} -> the same with their types.
MODEL_COLUMNS = {
    "columns": lambda name: ", ".join(_row_columns(name)),
    "column_defs": lambda name: column_defs(name, _row_columns(name)),
}
