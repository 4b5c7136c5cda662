"""Users, sign-in attempts and the audit log.

A user's scope is data: an ``admin`` has a township, a county (all its townships)
or neither (the installation's first admin: every township); a ``grid_leader`` a
grid (and its subtree), a ``cadre`` their cadre record, a ``viewer`` a township or
county. Grids and cadres are kept by code, so a re-import that renumbers ids keeps
the user's scope.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis_service.core.db import Base
from gis_service.core.models import created_at, enum_check, updated_at

ROLES = ("admin", "grid_leader", "cadre", "viewer")


class User(Base):
    """Someone who signs in; the role and scope decide which rows they see."""

    __tablename__ = "users"
    __table_args__ = (
        enum_check("role", ROLES, "role"),
        CheckConstraint(
            "role <> 'grid_leader' OR (township_code IS NOT NULL "
            "AND grid_code IS NOT NULL)",
            name="grid_leader_scope",
        ),
        CheckConstraint(
            "role <> 'cadre' OR (township_code IS NOT NULL AND cadre_code IS NOT NULL)",
            name="cadre_scope",
        ),
        CheckConstraint(
            "role <> 'viewer' OR township_code IS NOT NULL OR county IS NOT NULL",
            name="viewer_scope",
        ),
        CheckConstraint(
            "township_code IS NULL OR county IS NULL", name="township_or_county"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    township_code: Mapped[str | None] = mapped_column(
        String(12), ForeignKey("townships.code", ondelete="RESTRICT")
    )
    county: Mapped[str | None] = mapped_column(String(100))
    grid_code: Mapped[str | None] = mapped_column(String(64))
    cadre_code: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    disabled: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default="false"
    )
    failed_logins: Mapped[int] = mapped_column(
        Integer, nullable=False, server_default="0"
    )
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Bumped on reset/disable: every token issued before stops working.
    token_version: Mapped[int] = mapped_column(
        Integer, nullable=False, server_default="0"
    )
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class LoginAttempt(Base):
    """One sign-in attempt: the per-address rate limit counts these."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_address_at", "address", "at"),
        Index("ix_login_attempts_username_at", "username", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    address: Mapped[str] = mapped_column(String(64), nullable=False)
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False)
    at: Mapped[datetime] = created_at()


class AuditEntry(Base):
    """Who read unmasked data or wrote, when, what, which rows, from where."""

    __tablename__ = "audit_log"
    # No RETURNING on insert: only admins may read entries back (SELECT policy).
    __table_args__ = (
        Index("ix_audit_log_township_code_at", "township_code", "at"),
        {"implicit_returning": False},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = created_at()
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    method: Mapped[str] = mapped_column(String(10), nullable=False)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    township_code: Mapped[str | None] = mapped_column(String(12))
    status: Mapped[int | None] = mapped_column(Integer)
    rows: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    address: Mapped[str | None] = mapped_column(String(64))
