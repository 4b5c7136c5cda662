"""Initial schema: townships, grids, cadres, households, visits, demands,
pasture parcels, hazards, roads and disputes (all keyed by township_code).

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 07:10:58.245373
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # PostGIS itself; the downgrade leaves it installed (other schemas may use it).
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('townships',
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('county', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("code ~ '^[0-9]{12}$'", name=op.f('ck_townships_code_12_digits')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_townships'))
    )
    op.create_geospatial_table('grids',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('level', sa.String(length=50), nullable=False),
    sa.Column('depth', sa.SmallInteger(), server_default='0', nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('path', sa.Text(), server_default='/', nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('depth >= 0', name=op.f('ck_grids_depth_nonnegative')),
    sa.ForeignKeyConstraint(['township_code', 'parent_id'], ['grids.township_code', 'grids.id'], name=op.f('fk_grids_township_code_parent_id_grids')),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], name=op.f('fk_grids_township_code_townships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grids')),
    sa.UniqueConstraint('township_code', 'code', name=op.f('uq_grids_township_code_code')),
    sa.UniqueConstraint('township_code', 'id', name=op.f('uq_grids_township_code_id'))
    )
    op.create_geospatial_index('idx_grids_geom', 'grids', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_grids_path', 'grids', ['path'], unique=False, postgresql_ops={'path': 'text_pattern_ops'})
    op.create_index(op.f('ix_grids_township_code'), 'grids', ['township_code'], unique=False)
    op.create_geospatial_table('roads',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=50), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTILINESTRING', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], name=op.f('fk_roads_township_code_townships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roads')),
    sa.UniqueConstraint('township_code', 'code', name=op.f('uq_roads_township_code_code')),
    sa.UniqueConstraint('township_code', 'id', name=op.f('uq_roads_township_code_id'))
    )
    op.create_geospatial_index('idx_roads_geom', 'roads', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_roads_township_code'), 'roads', ['township_code'], unique=False)
    op.create_geospatial_table('cadres',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), server_default='grid_worker', nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('home_grid_id', sa.BigInteger(), nullable=True),
    sa.Column('capacity', sa.SmallInteger(), server_default='14', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('base', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('party_member', 'grid_worker', 'grid_leader', 'village_cadre')", name=op.f('ck_cadres_role_known')),
    sa.CheckConstraint('capacity > 0', name=op.f('ck_cadres_capacity_positive')),
    sa.ForeignKeyConstraint(['township_code', 'home_grid_id'], ['grids.township_code', 'grids.id'], name=op.f('fk_cadres_township_code_home_grid_id_grids')),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], name=op.f('fk_cadres_township_code_townships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cadres')),
    sa.UniqueConstraint('township_code', 'code', name=op.f('uq_cadres_township_code_code')),
    sa.UniqueConstraint('township_code', 'id', name=op.f('uq_cadres_township_code_id'))
    )
    op.create_geospatial_index('idx_cadres_base', 'cadres', ['base'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_cadres_home_grid_id'), 'cadres', ['home_grid_id'], unique=False)
    op.create_index(op.f('ix_cadres_township_code'), 'cadres', ['township_code'], unique=False)
    op.create_geospatial_table('hazards',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('severity', sa.String(length=20), server_default='medium', nullable=False),
    sa.Column('status', sa.String(length=20), server_default='found', nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('warn_radius_m', sa.Double(), server_default='500', nullable=False),
    sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('grid_id', sa.BigInteger(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('fire', 'flood', 'landslide', 'road', 'building', 'other')", name=op.f('ck_hazards_kind_known')),
    sa.CheckConstraint("severity IN ('low', 'medium', 'high', 'critical')", name=op.f('ck_hazards_severity_known')),
    sa.CheckConstraint("status IN ('found', 'rectifying', 'closed')", name=op.f('ck_hazards_status_known')),
    sa.CheckConstraint('warn_radius_m > 0', name=op.f('ck_hazards_warn_radius_positive')),
    sa.ForeignKeyConstraint(['township_code', 'grid_id'], ['grids.township_code', 'grids.id'], name=op.f('fk_hazards_township_code_grid_id_grids')),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], name=op.f('fk_hazards_township_code_townships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazards')),
    sa.UniqueConstraint('township_code', 'code', name=op.f('uq_hazards_township_code_code')),
    sa.UniqueConstraint('township_code', 'id', name=op.f('uq_hazards_township_code_id'))
    )
    op.create_geospatial_index('idx_hazards_geom', 'hazards', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_hazards_grid_id'), 'hazards', ['grid_id'], unique=False)
    op.create_index(op.f('ix_hazards_township_code'), 'hazards', ['township_code'], unique=False)
    op.create_geospatial_table('households',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('head_name', sa.String(length=100), nullable=False),
    sa.Column('members', sa.SmallInteger(), server_default='1', nullable=False),
    sa.Column('village', sa.String(length=100), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('tags', sa.ARRAY(sa.String(length=20)), server_default='{}', nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('grid_id', sa.BigInteger(), nullable=True),
    sa.Column('cadre_id', sa.BigInteger(), nullable=True),
    sa.Column('cadre_pinned', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("tags <@ ARRAY['低保', '特困', '防返贫监测', '脱贫不稳定户', '边缘易致贫户', '突发严重困难户', '空巢老人', '残疾', '留守儿童', '外出务工', '五保', '优抚']::varchar[]", name=op.f('ck_households_tags_known')),
    sa.CheckConstraint('members >= 0', name=op.f('ck_households_members_nonnegative')),
    sa.ForeignKeyConstraint(['township_code', 'cadre_id'], ['cadres.township_code', 'cadres.id'], name=op.f('fk_households_township_code_cadre_id_cadres')),
    sa.ForeignKeyConstraint(['township_code', 'grid_id'], ['grids.township_code', 'grids.id'], name=op.f('fk_households_township_code_grid_id_grids')),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], name=op.f('fk_households_township_code_townships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_households')),
    sa.UniqueConstraint('township_code', 'code', name=op.f('uq_households_township_code_code')),
    sa.UniqueConstraint('township_code', 'id', name=op.f('uq_households_township_code_id'))
    )
    op.create_geospatial_index('idx_households_geom', 'households', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_households_cadre_id'), 'households', ['cadre_id'], unique=False)
    op.create_index(op.f('ix_households_grid_id'), 'households', ['grid_id'], unique=False)
    op.create_index(op.f('ix_households_township_code'), 'households', ['township_code'], unique=False)
    op.create_geospatial_table('pasture_parcels',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('contract_no', sa.String(length=64), nullable=False),
    sa.Column('holder_household_id', sa.BigInteger(), nullable=True),
    sa.Column('contract_area_mu', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('contract_area_mu IS NULL OR contract_area_mu > 0', name=op.f('ck_pasture_parcels_area_positive')),
    sa.ForeignKeyConstraint(['township_code', 'holder_household_id'], ['households.township_code', 'households.id'], name=op.f('fk_pasture_parcels_township_code_holder_household_id_households')),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], name=op.f('fk_pasture_parcels_township_code_townships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pasture_parcels')),
    sa.UniqueConstraint('township_code', 'contract_no', name=op.f('uq_pasture_parcels_township_code_contract_no')),
    sa.UniqueConstraint('township_code', 'id', name=op.f('uq_pasture_parcels_township_code_id'))
    )
    op.create_geospatial_index('idx_pasture_parcels_geom', 'pasture_parcels', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_pasture_parcels_holder_household_id'), 'pasture_parcels', ['holder_household_id'], unique=False)
    op.create_index(op.f('ix_pasture_parcels_township_code'), 'pasture_parcels', ['township_code'], unique=False)
    op.create_geospatial_table('visits',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('cadre_id', sa.BigInteger(), nullable=True),
    sa.Column('visited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('purpose', sa.String(length=20), server_default='service', nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('fix', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("purpose IN ('policy', 'service', 'mediation', 'safety', 'other')", name=op.f('ck_visits_purpose_known')),
    sa.ForeignKeyConstraint(['township_code', 'cadre_id'], ['cadres.township_code', 'cadres.id'], name=op.f('fk_visits_township_code_cadre_id_cadres')),
    sa.ForeignKeyConstraint(['township_code', 'household_id'], ['households.township_code', 'households.id'], name=op.f('fk_visits_township_code_household_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], name=op.f('fk_visits_township_code_townships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visits')),
    sa.UniqueConstraint('township_code', 'id', name=op.f('uq_visits_township_code_id'))
    )
    op.create_geospatial_index('idx_visits_fix', 'visits', ['fix'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_visits_cadre_id'), 'visits', ['cadre_id'], unique=False)
    op.create_index('ix_visits_household_time', 'visits', ['household_id', 'visited_at'], unique=False)
    op.create_index(op.f('ix_visits_township_code'), 'visits', ['township_code'], unique=False)
    op.create_table('demands',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('visit_id', sa.BigInteger(), nullable=True),
    sa.Column('owner_cadre_id', sa.BigInteger(), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='open', nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("category IN ('employment', 'medical', 'education', 'elderly_care', 'infrastructure', 'environment', 'dispute', 'safety', 'other')", name=op.f('ck_demands_category_known')),
    sa.CheckConstraint("status IN ('open', 'in_progress', 'resolved', 'escalated')", name=op.f('ck_demands_status_known')),
    sa.ForeignKeyConstraint(['township_code', 'household_id'], ['households.township_code', 'households.id'], name=op.f('fk_demands_township_code_household_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['township_code', 'owner_cadre_id'], ['cadres.township_code', 'cadres.id'], name=op.f('fk_demands_township_code_owner_cadre_id_cadres')),
    sa.ForeignKeyConstraint(['township_code', 'visit_id'], ['visits.township_code', 'visits.id'], name=op.f('fk_demands_township_code_visit_id_visits')),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], name=op.f('fk_demands_township_code_townships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demands')),
    sa.UniqueConstraint('township_code', 'id', name=op.f('uq_demands_township_code_id'))
    )
    op.create_index(op.f('ix_demands_household_id'), 'demands', ['household_id'], unique=False)
    op.create_index(op.f('ix_demands_township_code'), 'demands', ['township_code'], unique=False)
    op.create_geospatial_table('disputes',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('parcel_a_id', sa.BigInteger(), nullable=False),
    sa.Column('parcel_b_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='open', nullable=False),
    sa.Column('overlap', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('overlap_area_m2', sa.Double(), nullable=False),
    sa.Column('first_detected_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_detected_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('closed_reason', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('open', 'mediating', 'resolved', 'dismissed', 'closed')", name=op.f('ck_disputes_status_known')),
    sa.CheckConstraint('parcel_a_id < parcel_b_id', name=op.f('ck_disputes_pair_ordered')),
    sa.ForeignKeyConstraint(['township_code', 'parcel_a_id'], ['pasture_parcels.township_code', 'pasture_parcels.id'], name=op.f('fk_disputes_township_code_parcel_a_id_pasture_parcels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['township_code', 'parcel_b_id'], ['pasture_parcels.township_code', 'pasture_parcels.id'], name=op.f('fk_disputes_township_code_parcel_b_id_pasture_parcels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], name=op.f('fk_disputes_township_code_townships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disputes')),
    sa.UniqueConstraint('township_code', 'id', name=op.f('uq_disputes_township_code_id')),
    sa.UniqueConstraint('township_code', 'parcel_a_id', 'parcel_b_id', name=op.f('uq_disputes_township_code_parcel_a_id_parcel_b_id'))
    )
    op.create_geospatial_index('idx_disputes_overlap', 'disputes', ['overlap'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_disputes_township_code'), 'disputes', ['township_code'], unique=False)
    op.create_table('demand_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('demand_id', sa.BigInteger(), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['township_code', 'demand_id'], ['demands.township_code', 'demands.id'], name=op.f('fk_demand_events_township_code_demand_id_demands'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], name=op.f('fk_demand_events_township_code_townships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demand_events'))
    )
    op.create_index(op.f('ix_demand_events_demand_id'), 'demand_events', ['demand_id'], unique=False)
    op.create_index(op.f('ix_demand_events_township_code'), 'demand_events', ['township_code'], unique=False)
    op.create_table('dispute_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('dispute_id', sa.BigInteger(), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['township_code', 'dispute_id'], ['disputes.township_code', 'disputes.id'], name=op.f('fk_dispute_events_township_code_dispute_id_disputes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], name=op.f('fk_dispute_events_township_code_townships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispute_events'))
    )
    op.create_index(op.f('ix_dispute_events_dispute_id'), 'dispute_events', ['dispute_id'], unique=False)
    op.create_index(op.f('ix_dispute_events_township_code'), 'dispute_events', ['township_code'], unique=False)
    # ### end Alembic commands ###


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index(op.f('ix_dispute_events_township_code'), table_name='dispute_events')
    op.drop_index(op.f('ix_dispute_events_dispute_id'), table_name='dispute_events')
    op.drop_table('dispute_events')
    op.drop_index(op.f('ix_demand_events_township_code'), table_name='demand_events')
    op.drop_index(op.f('ix_demand_events_demand_id'), table_name='demand_events')
    op.drop_table('demand_events')
    op.drop_index(op.f('ix_disputes_township_code'), table_name='disputes')
    op.drop_geospatial_index('idx_disputes_overlap', table_name='disputes', postgresql_using='gist', column_name='overlap')
    op.drop_geospatial_table('disputes')
    op.drop_index(op.f('ix_demands_township_code'), table_name='demands')
    op.drop_index(op.f('ix_demands_household_id'), table_name='demands')
    op.drop_table('demands')
    op.drop_index(op.f('ix_visits_township_code'), table_name='visits')
    op.drop_index('ix_visits_household_time', table_name='visits')
    op.drop_index(op.f('ix_visits_cadre_id'), table_name='visits')
    op.drop_geospatial_index('idx_visits_fix', table_name='visits', postgresql_using='gist', column_name='fix')
    op.drop_geospatial_table('visits')
    op.drop_index(op.f('ix_pasture_parcels_township_code'), table_name='pasture_parcels')
    op.drop_index(op.f('ix_pasture_parcels_holder_household_id'), table_name='pasture_parcels')
    op.drop_geospatial_index('idx_pasture_parcels_geom', table_name='pasture_parcels', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('pasture_parcels')
    op.drop_index(op.f('ix_households_township_code'), table_name='households')
    op.drop_index(op.f('ix_households_grid_id'), table_name='households')
    op.drop_index(op.f('ix_households_cadre_id'), table_name='households')
    op.drop_geospatial_index('idx_households_geom', table_name='households', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('households')
    op.drop_index(op.f('ix_hazards_township_code'), table_name='hazards')
    op.drop_index(op.f('ix_hazards_grid_id'), table_name='hazards')
    op.drop_geospatial_index('idx_hazards_geom', table_name='hazards', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('hazards')
    op.drop_index(op.f('ix_cadres_township_code'), table_name='cadres')
    op.drop_index(op.f('ix_cadres_home_grid_id'), table_name='cadres')
    op.drop_geospatial_index('idx_cadres_base', table_name='cadres', postgresql_using='gist', column_name='base')
    op.drop_geospatial_table('cadres')
    op.drop_index(op.f('ix_roads_township_code'), table_name='roads')
    op.drop_geospatial_index('idx_roads_geom', table_name='roads', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('roads')
    op.drop_index(op.f('ix_grids_township_code'), table_name='grids')
    op.drop_index('ix_grids_path', table_name='grids', postgresql_ops={'path': 'text_pattern_ops'})
    op.drop_geospatial_index('idx_grids_geom', table_name='grids', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('grids')
    op.drop_table('townships')
    # ### end Alembic commands ###
