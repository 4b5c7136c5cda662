"""Jobs keep a file they made (a rendered map), and every user sees their own jobs.

``output`` / ``output_type`` hold what ``GET /jobs/{id}/output`` answers (a
coverage map rendered on a worker). Jobs were an admin's only: a grid leader who
asked for the province summary with ``Prefer: respond-async`` was refused by
the insert policy. Now a user reads and queues jobs in their own name
(``created_by`` = ``gridgis.username``), an admin also the jobs of their
townships; which kinds each role may start stays the routes' function-level
check (imports, assignment and detection are admin-only routes).

Revision ID: 0131_job_outputs
Revises: 0130_cadre_checks
Create Date: 2026-12-02 20:30:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0131_job_outputs'
down_revision: str | None = '0130_cadre_checks'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTING = "(SELECT NULLIF(current_setting('gridgis.{}', true), ''))"
ROLE, USER, TOWNSHIPS = (SETTING.format(s) for s in ('role', 'username', 'townships'))
IN_TOWNSHIPS = (
    f"({TOWNSHIPS} = '*' OR township_code = ANY "
    f"(string_to_array({TOWNSHIPS}, ',')))"
)
MINE = f"created_by = {USER}"
# policy name suffix of each service role ('' = the gridgis_app template)
SUFFIXES = ('', '_w', '_leader', '_cadre')


def _policies(scope: str, insert: str) -> None:
    for suffix in SUFFIXES:
        op.execute(f"ALTER POLICY jobs_scope{suffix} ON jobs USING ({scope})")
        op.execute(f"ALTER POLICY jobs_insert{suffix} ON jobs WITH CHECK ({insert})")


def upgrade() -> None:
    op.execute('ALTER TABLE jobs ADD COLUMN output bytea, ADD COLUMN output_type text')
    _policies(
        f"({IN_TOWNSHIPS} AND {ROLE} = 'admin') OR {MINE}",
        f"{ROLE} = 'admin' OR {MINE}",
    )


def downgrade() -> None:
    admin = f"{ROLE} = 'admin'"
    for suffix, rule in zip(SUFFIXES, (admin, admin, 'false', 'false'), strict=True):
        op.execute(
            f"ALTER POLICY jobs_scope{suffix} ON jobs USING ({IN_TOWNSHIPS} AND {rule})"
        )
        op.execute(f"ALTER POLICY jobs_insert{suffix} ON jobs WITH CHECK ({admin})")
    op.execute('ALTER TABLE jobs DROP COLUMN output, DROP COLUMN output_type')
