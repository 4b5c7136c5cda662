"""PostGIS's bounding-box operator ``&&`` is LEAKPROOF, so GIST indexes work under RLS.

Since 0081 every signed-in request runs under row-level security, and PostgreSQL
then only lets a LEAKPROOF operator become an index condition below the policy's
filter. PostGIS ships ``&&`` unmarked, so under RLS a spatial join lost its GIST
index: the warn list (1 000 hazards over 1 000 000 households) became a nested
loop over every household for every hazard and ran for minutes instead of ~4 s
(bench/warn_hazards.py), and every other ``&&`` filter (map and OGC bounding
boxes) fell back to scanning the township.

``geometry_overlaps`` and ``geography_overlaps`` compare the two stored bounding
boxes and return true or false; they raise no error that could reveal a value
(an empty geometry is simply false), which is what LEAKPROOF promises. Only a
superuser may mark a function LEAKPROOF: as another user this migration leaves a
NOTICE saying what to run. ``ALTER EXTENSION postgis UPDATE`` may reset the flag;
tests/layers/test_hazards_warn.py checks the plan under RLS.

Revision ID: 0120_hazards2
Revises: 0083_access_wide
Create Date: 2026-12-02 15:50:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0120_hazards2'
down_revision: str | None = '0083_access_wide'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = (
    'geometry_overlaps(geometry, geometry)',
    'geography_overlaps(geography, geography)',
)


def _mark(flag: str) -> None:
    statements = '; '.join(f'ALTER FUNCTION {f} {flag}' for f in FUNCTIONS)
    op.execute(
        f"""
        DO $$
        BEGIN
          IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            {statements};
          ELSE
            RAISE NOTICE 'not a superuser: as one, run %', '{statements}';
          END IF;
        END $$
        """
    )


def upgrade() -> None:
    _mark('LEAKPROOF')


def downgrade() -> None:
    _mark('NOT LEAKPROOF')
