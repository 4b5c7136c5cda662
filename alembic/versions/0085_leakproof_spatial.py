"""Spatial predicates LEAKPROOF, so GIST indexes serve queries under RLS.

Under row-level security PostgreSQL evaluates a query's own conditions after the
policy's, unless a condition's functions are LEAKPROOF; only then may it become
an index condition. PostGIS ships ``&&``, ``ST_Intersects``, ``ST_DWithin`` ...
as not leakproof, so every bbox, tile, warn-radius and point-in-grid query of a
signed-in user scanned whole partitions. These predicates only compare
geometries and raise only on malformed input (imports validate and repair
geometries), and the service never runs user-supplied functions (CQL2 compiles
to a fixed list), so they are marked LEAKPROOF here.

That takes a superuser (the embedded cluster's owner is one). On a server where
the migration runs as a plain owner it says so in a NOTICE and changes nothing:
queries stay correct, only slower. ``ALTER EXTENSION postgis UPDATE`` recreates
the functions: run ``gridgis db upgrade`` after it (this migration is re-applied
by downgrading and upgrading it).

Revision ID: 0085_leakproof_spatial
Revises: 0084_access_roles
Create Date: 2026-12-02 15:50:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0085_leakproof_spatial'
down_revision: str | None = '0084_access_roles'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = (
    'geometry_overlaps(geometry, geometry)',
    'geography_overlaps(geography, geography)',
    'st_intersects(geometry, geometry)',
    'st_dwithin(geometry, geometry, double precision)',
    'st_dwithin(geography, geography, double precision, boolean)',
    'st_contains(geometry, geometry)',
    'st_within(geometry, geometry)',
    'st_covers(geometry, geometry)',
    'st_coveredby(geometry, geometry)',
)


def _mark(leakproof: bool) -> None:
    names = ', '.join(f"'{f}'" for f in FUNCTIONS)
    word = 'LEAKPROOF' if leakproof else 'NOT LEAKPROOF'
    op.execute(
        f"""DO $$
        DECLARE f text;
        BEGIN
          IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            RAISE NOTICE 'not a superuser: spatial predicates stay not LEAKPROOF '
              '(queries under RLS cannot use GIST indexes)';
            RETURN;
          END IF;
          FOREACH f IN ARRAY ARRAY[{names}] LOOP
            IF to_regprocedure(f) IS NOT NULL THEN
              EXECUTE format('ALTER FUNCTION %s {word}', to_regprocedure(f));
            END IF;
          END LOOP;
        END $$"""
    )


def upgrade() -> None:
    _mark(True)


def downgrade() -> None:
    _mark(False)
