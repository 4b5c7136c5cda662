"""Household assignments in their own table, LIST-partitioned by township; the
view households_assigned keeps the old columns (grid_id, cadre_id, cadre_pinned)
for readers.

Writing a full re-run into ``households`` updated a million wide rows (seven
indexes, foreign-key triggers per row: ~55 s). A narrow partition per township
is instead rebuilt and swapped in (COPY, primary key, ATTACH PARTITION, which
validates the foreign keys in one bulk query): ~2.5 s, with the same integrity.
Partitions are named household_assignments_<12-digit code>.

Revision ID: 0060
Revises: 0050
Create Date: 2026-11-25 09:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0060'
down_revision: str | None = '0050'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REASONS = ('outside_every_grid', 'grid_has_no_cadre', 'capacity_exhausted')

VIEW = """
CREATE VIEW households_assigned AS
SELECT h.*, a.grid_id, a.cadre_id, COALESCE(a.pinned, false) AS cadre_pinned,
       a.reason AS assignment_reason, a.assigned_at
FROM households h
LEFT JOIN household_assignments a
       ON a.township_code = h.township_code AND a.household_id = h.id
"""

# Townships' codes are 12 digits (ck_townships_code_12_digits), so the
# partition names and the literal are safe to build with format().
PARTITIONS = """
DO $$
DECLARE t text;
BEGIN
  FOR t IN SELECT DISTINCT township_code FROM households LOOP
    EXECUTE format(
      'CREATE TABLE %I PARTITION OF household_assignments FOR VALUES IN (%L)',
      'household_assignments_' || t, t);
  END LOOP;
END $$
"""

# Only households that had something to say: a grid, a cadre or a pin. The
# reason for a missing cadre is the one the reports give.
MOVE_IN = """
INSERT INTO household_assignments
      (township_code, household_id, grid_id, cadre_id, pinned, reason)
SELECT h.township_code, h.id, h.grid_id, h.cadre_id, h.cadre_pinned,
       CASE WHEN h.cadre_id IS NOT NULL THEN NULL
            WHEN h.grid_id IS NULL THEN 'outside_every_grid'
            WHEN EXISTS (SELECT 1 FROM cadres c
                         WHERE c.township_code = h.township_code
                           AND c.home_grid_id = h.grid_id AND c.active)
                 THEN 'capacity_exhausted'
            ELSE 'grid_has_no_cadre' END
FROM households h
WHERE h.grid_id IS NOT NULL OR h.cadre_id IS NOT NULL OR h.cadre_pinned
"""

MOVE_OUT = """
UPDATE households h
   SET grid_id = a.grid_id, cadre_id = a.cadre_id, cadre_pinned = a.pinned
  FROM household_assignments a
 WHERE a.township_code = h.township_code AND a.household_id = h.id
"""


def upgrade() -> None:
    quoted = ', '.join(f"'{r}'" for r in REASONS)
    op.create_table('household_assignments',
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('grid_id', sa.BigInteger(), nullable=True),
    sa.Column('cadre_id', sa.BigInteger(), nullable=True),
    sa.Column('pinned', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint(f'reason IN ({quoted})', name=op.f('ck_household_assignments_reason_known')),
    sa.ForeignKeyConstraint(['township_code', 'cadre_id'], ['cadres.township_code', 'cadres.id'], name=op.f('fk_household_assignments_township_code_cadre_id_cadres')),
    sa.ForeignKeyConstraint(['township_code', 'grid_id'], ['grids.township_code', 'grids.id'], name=op.f('fk_household_assignments_township_code_grid_id_grids')),
    sa.ForeignKeyConstraint(['township_code', 'household_id'], ['households.township_code', 'households.id'], name=op.f('fk_household_assignments_township_code_household_id_households'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('township_code', 'household_id', name=op.f('pk_household_assignments')),
    postgresql_partition_by='LIST (township_code)',
    )
    op.execute(PARTITIONS)
    op.execute(MOVE_IN)
    op.drop_index(op.f('ix_households_grid_id'), table_name='households')
    op.drop_index(op.f('ix_households_cadre_id'), table_name='households')
    op.drop_constraint(op.f('fk_households_township_code_grid_id_grids'), 'households', type_='foreignkey')
    op.drop_constraint(op.f('fk_households_township_code_cadre_id_cadres'), 'households', type_='foreignkey')
    op.drop_column('households', 'grid_id')
    op.drop_column('households', 'cadre_id')
    op.drop_column('households', 'cadre_pinned')
    op.execute(VIEW)


def downgrade() -> None:
    op.execute('DROP VIEW households_assigned')
    op.add_column('households', sa.Column('grid_id', sa.BigInteger(), nullable=True))
    op.add_column('households', sa.Column('cadre_id', sa.BigInteger(), nullable=True))
    op.add_column('households', sa.Column('cadre_pinned', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.execute(MOVE_OUT)
    op.create_foreign_key(op.f('fk_households_township_code_grid_id_grids'), 'households', 'grids', ['township_code', 'grid_id'], ['township_code', 'id'])
    op.create_foreign_key(op.f('fk_households_township_code_cadre_id_cadres'), 'households', 'cadres', ['township_code', 'cadre_id'], ['township_code', 'id'])
    op.create_index(op.f('ix_households_grid_id'), 'households', ['grid_id'], unique=False)
    op.create_index(op.f('ix_households_cadre_id'), 'households', ['cadre_id'], unique=False)
    op.drop_table('household_assignments')  # its partitions go with it
