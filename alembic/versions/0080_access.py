"""Users, sign-in attempts and the append-only audit log.

Revision ID: 0080_access
Revises: 0110_sizes
Create Date: 2026-12-02 12:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = '0080_access'
down_revision: str | None = '0110_sizes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The audit log is append-only: not even the owner updates or deletes a row
# (a downgrade drops the table as a whole).
APPEND_ONLY = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""


def upgrade() -> None:
    op.create_table(
        'users',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('township_code', sa.String(length=12), nullable=True),
        sa.Column('county', sa.String(length=100), nullable=True),
        sa.Column('grid_code', sa.String(length=64), nullable=True),
        sa.Column('cadre_code', sa.String(length=64), nullable=True),
        sa.Column('password_hash', sa.Text(), nullable=False),
        sa.Column('disabled', sa.Boolean(), server_default='false', nullable=False),
        sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False),
        sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('token_version', sa.Integer(), server_default='0', nullable=False),
        sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'grid_leader', 'cadre', 'viewer')", name=op.f('ck_users_role')),
        sa.CheckConstraint("role <> 'grid_leader' OR (township_code IS NOT NULL AND grid_code IS NOT NULL)", name=op.f('ck_users_grid_leader_scope')),
        sa.CheckConstraint("role <> 'cadre' OR (township_code IS NOT NULL AND cadre_code IS NOT NULL)", name=op.f('ck_users_cadre_scope')),
        sa.CheckConstraint("role <> 'viewer' OR township_code IS NOT NULL OR county IS NOT NULL", name=op.f('ck_users_viewer_scope')),
        sa.CheckConstraint('township_code IS NULL OR county IS NULL', name=op.f('ck_users_township_or_county')),
        sa.ForeignKeyConstraint(['township_code'], ['townships.code'], name=op.f('fk_users_township_code_townships'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
        sa.UniqueConstraint('username', name=op.f('uq_users_username')),
    )
    op.create_table(
        'login_attempts',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('succeeded', sa.Boolean(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts')),
    )
    op.create_index('ix_login_attempts_address_at', 'login_attempts', ['address', 'at'])
    op.create_index('ix_login_attempts_username_at', 'login_attempts', ['username', 'at'])
    op.create_table(
        'audit_log',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=True),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('path', sa.Text(), nullable=False),
        sa.Column('township_code', sa.String(length=12), nullable=True),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('rows', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    op.create_index('ix_audit_log_township_code_at', 'audit_log', ['township_code', 'at'])
    op.execute(APPEND_ONLY)


def downgrade() -> None:
    op.drop_table('audit_log')
    op.execute('DROP FUNCTION audit_log_append_only()')
    op.drop_table('login_attempts')
    op.drop_table('users')
