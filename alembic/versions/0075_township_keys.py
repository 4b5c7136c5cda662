"""Every township table's primary key includes township_code (distribution-ready).

Citus (and any sharding by township) requires the distribution column in every
primary and unique key. Until now most tables had PRIMARY KEY (id) plus a
UNIQUE (township_code, id) that the composite foreign keys pointed at; the
primary key becomes (township_code, id) and the duplicate unique key goes (one
index instead of two). The foreign keys that pointed at the unique key are
re-created, unchanged, against the new primary key.

Revision ID: 0075
Revises: 0070
Create Date: 2026-12-02 12:10:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0075'
down_revision: str | None = '0070'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    'grids', 'cadres', 'roads', 'hazards', 'pasture_parcels', 'visits', 'demands',
    'demand_events', 'disputes', 'dispute_events', 'dispute_runs', 'parcel_findings',
)

# The foreign keys that point at TABLES, kept in a temporary table while the keys
# they depend on are swapped (partition clones of a key are re-made by PostgreSQL).
SAVE_FKS = """
CREATE TEMP TABLE _fks AS
SELECT c.conrelid::regclass::text AS tab, c.conname AS name,
       pg_get_constraintdef(c.oid) AS def
FROM pg_constraint c
WHERE c.contype = 'f' AND c.conparentid = 0
  AND c.confrelid = ANY (ARRAY[{tables}]::regclass[])
"""
DROP_FKS = """
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT * FROM _fks LOOP
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', r.tab, r.name);
  END LOOP;
END $$
"""
ADD_FKS = """
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT * FROM _fks LOOP
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', r.tab, r.name, r.def);
  END LOOP;
END $$
"""


# The event tables never had the (township_code, id) unique key.
NO_UNIQUE = ('demand_events', 'dispute_events')


def _swap(key_sql: str, unique_sql: str = '') -> None:
    tables = ', '.join(f"'{t}'" for t in TABLES)
    op.execute(SAVE_FKS.format(tables=tables))
    op.execute(DROP_FKS)
    for table in TABLES:
        extra = '' if table in NO_UNIQUE else unique_sql
        op.execute((key_sql + extra).format(t=table))
    op.execute(ADD_FKS)
    op.execute('DROP TABLE _fks')


def upgrade() -> None:
    _swap(
        'ALTER TABLE {t} DROP CONSTRAINT pk_{t}, '
        'DROP CONSTRAINT IF EXISTS uq_{t}_township_code_id, '
        'ADD CONSTRAINT pk_{t} PRIMARY KEY (township_code, id)'
    )


def downgrade() -> None:
    _swap(
        'ALTER TABLE {t} DROP CONSTRAINT pk_{t}, ADD CONSTRAINT pk_{t} PRIMARY KEY (id)',
        ', ADD CONSTRAINT uq_{t}_township_code_id UNIQUE (township_code, id)',
    )
