"""Visits and demands: per-township visit-frequency rules by tag, and the indexes
behind coverage per cadre and the overdue-demand lists.

Revision ID: 0030
Revises: 0001
Create Date: 2026-11-23 09:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0030'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TAGS = (
    "低保", "特困", "防返贫监测", "脱贫不稳定户", "边缘易致贫户", "突发严重困难户",
    "空巢老人", "残疾", "留守儿童", "外出务工", "五保", "优抚",
)


def upgrade() -> None:
    quoted = ", ".join(f"'{t}'" for t in TAGS)
    op.create_table('visit_rules',
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('tag', sa.String(length=20), nullable=False),
    sa.Column('interval_days', sa.SmallInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('interval_days > 0', name=op.f('ck_visit_rules_interval_positive')),
    sa.CheckConstraint(f"tag = '*' OR tag IN ({quoted})", name=op.f('ck_visit_rules_tag_known')),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], name=op.f('fk_visit_rules_township_code_townships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('township_code', 'tag', name=op.f('pk_visit_rules'))
    )
    op.create_index('ix_visits_township_cadre_time', 'visits', ['township_code', 'cadre_id', 'visited_at'], unique=False)
    op.create_index('ix_demands_township_status_due', 'demands', ['township_code', 'status', 'due_date'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_demands_township_status_due', table_name='demands')
    op.drop_index('ix_visits_township_cadre_time', table_name='visits')
    op.drop_table('visit_rules')
