"""Dispute runs record the sliver width threshold (slivers told by shape).

A sliver is now thin (mean width 2·A/P under ``min_width_m``) and/or tiny; the run
keeps the width it used beside the area and the (now optional) share. Runs made
before this had no width rule: 0.

Revision ID: 0110_sizes
Revises: 0090_hazards
Create Date: 2026-12-02 13:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0110_sizes'
down_revision: str | None = '0090_hazards'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'dispute_runs',
        sa.Column('min_width_m', sa.Double(), nullable=False, server_default='0'),
    )
    op.alter_column('dispute_runs', 'min_width_m', server_default=None)


def downgrade() -> None:
    op.drop_column('dispute_runs', 'min_width_m')
