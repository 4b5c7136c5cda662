"""Drop single-column township_code indexes that a UNIQUE (township_code, ...) key
already covers: they served no lookup the composite key does not, and each cost
every insert (about 0.1 s per 100 000 imported households).

Revision ID: 0050
Revises: 0040
Create Date: 2026-11-24 09:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0050'
down_revision: str | None = '0040'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each has UNIQUE (township_code, id) and most UNIQUE (township_code, code) too.
# demand_events and dispute_events keep theirs: no composite key leads with it.
TABLES = (
    'grids', 'cadres', 'households', 'visits', 'demands',
    'pasture_parcels', 'hazards', 'roads', 'disputes',
)


def upgrade() -> None:
    for table in TABLES:
        op.drop_index(op.f(f'ix_{table}_township_code'), table_name=table)


def downgrade() -> None:
    for table in TABLES:
        op.create_index(op.f(f'ix_{table}_township_code'), table, ['township_code'], unique=False)
