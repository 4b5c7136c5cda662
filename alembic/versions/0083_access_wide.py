"""A second service role for township-wide users, so RLS plans stay fast.

Under 0081 every request ran as ``gridgis_app``, whose policies are
``township AND (role IN (admin, viewer) OR <grid or cadre scope>)``. The role
test is a sub-select the planner cannot see through: it estimates such a policy
keeps ~1 % of the rows, and picks plans for a handful (a households list joined
to its assignments by a materialised nested loop: 10-25x slower than without
RLS). Admins and viewers see whole townships, so they now run as
``gridgis_wide``, whose scope policy is the township check alone; grid leaders
and cadres keep ``gridgis_app`` and its narrower policies.

``gridgis_wide`` is not a member of ``gridgis_app`` (membership would apply that
role's policies too, OR-ed in): it gets the same grants, and a twin of each of
``gridgis_app``'s policies, copied from the catalogue, except that the permissive
``*_scope`` policy of a table keyed by township is the township check alone.

Revision ID: 0083_access_wide
Revises: 0082_access_gdal
Create Date: 2026-12-02 15:20:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0083_access_wide'
down_revision: str | None = '0082_access_gdal'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP = 'gridgis_app'
WIDE = 'gridgis_wide'
TOWNSHIPS = (
    "CAST((SELECT string_to_array(current_setting('gridgis.townships', true), ','))"
    " AS text[])"
)
TOWNSHIP_OK = (
    "((SELECT nullif(current_setting('gridgis.townships', true), '')) = '*'"
    f" OR township_code = ANY ({TOWNSHIPS}))"
)
# scope policies whose rule is more than the township for wide users too
KEEP = ('jobs_scope', 'townships_scope')


def upgrade() -> None:
    op.execute(
        f"""DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{WIDE}') THEN
            CREATE ROLE {WIDE} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
              NOBYPASSRLS NOINHERIT;
          END IF;
        END $$"""
    )
    op.execute(
        f"""DO $$
        DECLARE g record; p record; keep text[] := ARRAY{list(KEEP)!r};
        BEGIN
          FOR g IN SELECT DISTINCT n.nspname FROM pg_namespace n
                   WHERE has_schema_privilege('{APP}', n.oid, 'USAGE')
                     AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
          LOOP
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO {WIDE}', g.nspname);
          END LOOP;
          FOR g IN SELECT table_schema, table_name, privilege_type
                   FROM information_schema.role_table_grants WHERE grantee = '{APP}'
          LOOP
            EXECUTE format('GRANT %s ON %I.%I TO {WIDE}',
                           g.privilege_type, g.table_schema, g.table_name);
          END LOOP;
          EXECUTE 'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO gridgis_wide';
          FOR p IN SELECT schemaname, tablename, policyname, permissive, cmd, qual,
                          with_check
                   FROM pg_policies WHERE '{APP}' = ANY (roles)
          LOOP
            IF p.permissive = 'PERMISSIVE' AND p.policyname LIKE '%\\_scope'
               AND NOT p.policyname = ANY (keep) THEN
              p.qual := $q${TOWNSHIP_OK}$q$;
            END IF;
            EXECUTE format('CREATE POLICY %I ON %I.%I AS %s FOR %s TO {WIDE}',
                           p.policyname || '_w', p.schemaname, p.tablename,
                           p.permissive, p.cmd)
                 || coalesce(' USING (' || p.qual || ')', '')
                 || coalesce(' WITH CHECK (' || p.with_check || ')', '');
          END LOOP;
        END $$"""
    )


def downgrade() -> None:
    op.execute(
        f"""DO $$
        DECLARE p record;
        BEGIN
          EXECUTE 'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO gridgis_wide';
          FOR p IN SELECT schemaname, tablename, policyname FROM pg_policies
                   WHERE '{WIDE}' = ANY (roles)
          LOOP
            EXECUTE format('DROP POLICY %I ON %I.%I',
                           p.policyname, p.schemaname, p.tablename);
          END LOOP;
        END $$"""
    )
    # the role is shared by every database of the cluster: only its grants here go
    op.execute(
        f"""DO $$
        DECLARE g record;
        BEGIN
          FOR g IN SELECT n.nspname FROM pg_namespace n
                   WHERE has_schema_privilege('{WIDE}', n.oid, 'USAGE')
                     AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
          LOOP
            EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM {WIDE}', g.nspname);
            EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM {WIDE}',
                           g.nspname);
            EXECUTE format('REVOKE ALL ON SCHEMA %I FROM {WIDE}', g.nspname);
          END LOOP;
        END $$"""
    )
