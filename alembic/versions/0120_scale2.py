"""Spatial indexes of township tables lead with township_code (btree_gist).

With GIST (geom) alone, a township-filtered spatial join (dispute detection's
self-join ``b.geom && a.geom AND b.township_code = :t``) was planned as a BitmapAnd
of the GIST probe with the primary key's township range: every probe read the
whole township's key range, so among 40 townships one township's detection took
3.3x as long as alone (bench/province.py, 1/20 scale). GIST (township_code, geom)
answers both conditions in one probe. The tables that are not partitioned by
township and hold many shapes per township get it: parcels, grids, cadres' bases,
hazards, shelters, roads, disputes, findings, visits' fixes (households are
partitioned: each partition has its own).

Revision ID: 0120_scale2
Revises: 0085_leakproof_spatial
Create Date: 2026-12-02 15:10:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0120_scale2'
down_revision: str | None = '0085_leakproof_spatial'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, geometry column, the GeoAlchemy2 index name it had)
INDEXES = (
    ('pasture_parcels', 'geom', 'idx_pasture_parcels_geom'),
    ('grids', 'geom', 'idx_grids_geom'),
    ('cadres', 'base', 'idx_cadres_base'),
    ('hazards', 'geom', 'idx_hazards_geom'),
    ('shelters', 'geom', 'idx_shelters_geom'),
    ('roads', 'geom', 'idx_roads_geom'),
    ('disputes', 'overlap', 'idx_disputes_overlap'),
    ('parcel_findings', 'geom', 'idx_parcel_findings_geom'),
    ('visits', 'fix', 'idx_visits_fix'),
)


def upgrade() -> None:
    op.execute('CREATE EXTENSION IF NOT EXISTS btree_gist')
    for table, column, old in INDEXES:
        op.execute(
            f'CREATE INDEX idx_{table}_township_{column} ON {table} '
            f'USING gist (township_code, {column})'
        )
        op.execute(f'DROP INDEX {old}')


def downgrade() -> None:
    for table, column, old in INDEXES:
        op.execute(f'CREATE INDEX {old} ON {table} USING gist ({column})')
        op.execute(f'DROP INDEX idx_{table}_township_{column}')
    op.execute('DROP EXTENSION IF EXISTS btree_gist')
