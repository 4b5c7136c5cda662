"""Hazards as points or polygons, a responsible cadre, the ledger's events,
per-kind warn radii (NULL: the kind's default) and a minimal shelters layer.

* ``hazards.geom`` becomes a generic geometry (POINT or MULTIPOLYGON, SRID 4326,
  its GIST index rebuilt by the type change);
* kind ``electrical`` (用电) joins the enumeration;
* ``warn_radius_m`` NULL means the kind's default radius (settings), so the
  default follows the kind instead of a flat 500 m;
* ``cadre_id`` (responsible cadre, NULL: the nearest cadre of its grid) and
  ``last_checked_at`` (the last step or re-check, for re-check stops);
* ``hazard_events``: who and when at each step of found -> rectifying -> closed,
  and every re-check, with attachments (photo URLs);
* ``shelters``: designated shelter points (避险安置点) for the 明白卡.

Revision ID: 0090_hazards
Revises: 0100_idempotency
Create Date: 2026-12-02 12:05:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = '0090_hazards'
down_revision: str | None = "0100_idempotency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ('fire', 'flood', 'landslide', 'road', 'building', 'electrical', 'other')
OLD_KINDS = ('fire', 'flood', 'landslide', 'road', 'building', 'other')
EVENT_KINDS = ('found', 'move', 'check')
MAX_RADIUS_M = 50_000


def _quoted(values: Sequence[str]) -> str:
    return ', '.join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.execute(
        "ALTER TABLE hazards ALTER COLUMN geom TYPE geometry(Geometry, 4326) "
        "USING geom"
    )
    op.create_check_constraint(
        op.f('ck_hazards_geom_point_or_polygon'), 'hazards',
        "GeometryType(geom) IN ('POINT', 'MULTIPOLYGON')",
    )
    op.drop_constraint(op.f('ck_hazards_kind_known'), 'hazards', type_='check')
    op.create_check_constraint(op.f('ck_hazards_kind_known'), 'hazards', f'kind IN ({_quoted(KINDS)})')
    op.drop_constraint(op.f('ck_hazards_warn_radius_positive'), 'hazards', type_='check')
    op.alter_column('hazards', 'warn_radius_m', nullable=True, server_default=None)
    op.create_check_constraint(
        op.f('ck_hazards_warn_radius_range'), 'hazards',
        f'warn_radius_m IS NULL OR (warn_radius_m > 0 AND warn_radius_m <= {MAX_RADIUS_M})',
    )
    op.add_column('hazards', sa.Column('cadre_id', sa.BigInteger(), nullable=True))
    op.add_column('hazards', sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(
        op.f('fk_hazards_township_code_cadre_id_cadres'), 'hazards', 'cadres',
        ['township_code', 'cadre_id'], ['township_code', 'id'],
    )
    op.create_index('ix_hazards_cadre', 'hazards', ['township_code', 'cadre_id'])
    op.create_table('hazard_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('hazard_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('attachments', sa.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint(f'kind IN ({_quoted(EVENT_KINDS)})', name=op.f('ck_hazard_events_kind_known')),
    sa.ForeignKeyConstraint(['township_code', 'hazard_id'], ['hazards.township_code', 'hazards.id'], name=op.f('fk_hazard_events_township_code_hazard_id_hazards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], name=op.f('fk_hazard_events_township_code_townships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('township_code', 'id', name=op.f('pk_hazard_events')),
    )
    op.create_index('ix_hazard_events_hazard', 'hazard_events', ['township_code', 'hazard_id'])
    op.create_index(op.f('ix_hazard_events_township_code'), 'hazard_events', ['township_code'])
    op.create_geospatial_table('shelters',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('capacity IS NULL OR capacity >= 0', name=op.f('ck_shelters_capacity_nonnegative')),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], name=op.f('fk_shelters_township_code_townships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('township_code', 'id', name=op.f('pk_shelters')),
    sa.UniqueConstraint('township_code', 'code', name=op.f('uq_shelters_township_code_code')),
    )
    op.create_geospatial_index('idx_shelters_geom', 'shelters', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})


def downgrade() -> None:
    op.drop_geospatial_index('idx_shelters_geom', table_name='shelters', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('shelters')
    op.drop_index(op.f('ix_hazard_events_township_code'), table_name='hazard_events')
    op.drop_index('ix_hazard_events_hazard', table_name='hazard_events')
    op.drop_table('hazard_events')
    op.drop_index('ix_hazards_cadre', table_name='hazards')
    op.drop_constraint(op.f('fk_hazards_township_code_cadre_id_cadres'), 'hazards', type_='foreignkey')
    op.drop_column('hazards', 'last_checked_at')
    op.drop_column('hazards', 'cadre_id')
    op.drop_constraint(op.f('ck_hazards_warn_radius_range'), 'hazards', type_='check')
    # The kind's default radius is not known here; 500 m was the old default.
    op.execute("UPDATE hazards SET warn_radius_m = 500 WHERE warn_radius_m IS NULL")
    op.alter_column('hazards', 'warn_radius_m', nullable=False, server_default='500')
    op.create_check_constraint(op.f('ck_hazards_warn_radius_positive'), 'hazards', 'warn_radius_m > 0')
    op.drop_constraint(op.f('ck_hazards_kind_known'), 'hazards', type_='check')
    op.execute("UPDATE hazards SET kind = 'other' WHERE kind = 'electrical'")
    op.create_check_constraint(op.f('ck_hazards_kind_known'), 'hazards', f'kind IN ({_quoted(OLD_KINDS)})')
    op.drop_constraint(op.f('ck_hazards_geom_point_or_polygon'), 'hazards', type_='check')
    # A polygon hazard keeps one point inside it (the old schema held points only).
    op.execute(
        "ALTER TABLE hazards ALTER COLUMN geom TYPE geometry(Point, 4326) "
        "USING CASE WHEN GeometryType(geom) = 'POINT' THEN geom "
        "ELSE ST_PointOnSurface(geom) END"
    )
