"""The service logs in as ``gridgis_service``: no owner, no superuser, no table.

Until now the service logged in as the tables' owner and switched each request's
transaction to a scope role (0081-0084); a statement that ran ``RESET ROLE``, or a
query outside a scoped transaction, ran as the owner and saw everything. Now:

* ``gridgis_service`` (LOGIN, NOINHERIT, no BYPASSRLS, owns nothing, no grant on
  any table) is a member of the scope roles, so a request can take its role with
  ``set_config('role', ...)``; on its own it can read nothing: a ``RESET ROLE``
  falls back to nothing rather than to everything.
* ``gridgis_system`` (NOLOGIN, NOINHERIT) is the role of the system work a request
  sets off and must see the whole township for (``scope.unscoped``: the
  assignment after an edit, sign-in lookups, partition builds): DML on every
  table, permissive policies that let it through RLS, CREATE in ``public`` for
  the bare tables a partition is built in. The audit log stays append-only.
* ``gridgis_partition(action, parent, township)``: the partition DDL that needs
  the parent's owner (CREATE ... PARTITION OF, ATTACH, DETACH + DROP, ANALYZE),
  as SECURITY DEFINER, for the two partitioned tables and 12-digit codes only.

Roles are cluster-wide: created when missing, never dropped by a downgrade.

Revision ID: 0140_service_login
Revises: 0131_job_outputs
Create Date: 2026-12-02 19:50:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0140_service_login'
down_revision: str | None = '0131_job_outputs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICE = 'gridgis_service'
SYSTEM = 'gridgis_system'
SCOPE_ROLES = ('gridgis_app', 'gridgis_wide', 'gridgis_leader', 'gridgis_cadre')

PARTITION_FUNCTION = f"""
CREATE FUNCTION gridgis_partition(action text, parent text, township text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
  part text := parent || '_' || township;
  owner name;
BEGIN
  IF parent NOT IN ('households', 'household_assignments') THEN
    RAISE EXCEPTION 'gridgis_partition: no partitions of %', parent
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF township !~ '^[0-9]{{12}}$' THEN
    RAISE EXCEPTION 'gridgis_partition: township code % is not 12 digits', township
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF action = 'create' THEN
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES IN (%L)',
                   part, parent, township);
  ELSIF action = 'attach' OR action = 'attach_analyze' THEN
    -- the bare table was built by the caller (gridgis_system): the parent's
    -- owner takes it over, so only the parent (and its policies) reaches it
    SELECT c.relowner::regrole::name INTO owner FROM pg_class c
     WHERE c.oid = parent::regclass;
    EXECUTE format('ALTER TABLE %I OWNER TO %I', part, owner);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%L)',
                   parent, part, township);
    IF action = 'attach_analyze' THEN
      EXECUTE format('ANALYZE %I', part);
    END IF;
  ELSIF action = 'detach_drop' THEN
    IF to_regclass(part) IS NOT NULL THEN
      EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, part);
      EXECUTE format('DROP TABLE %I', part);
    END IF;
  ELSIF action = 'drop' THEN
    EXECUTE format('DROP TABLE IF EXISTS %I', part);
  ELSE
    RAISE EXCEPTION 'gridgis_partition: unknown action %', action
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
END $$;
REVOKE ALL ON FUNCTION gridgis_partition(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gridgis_partition(text, text, text) TO {SYSTEM};
"""


def _create_role(name: str, attributes: str) -> None:
    op.execute(
        f"""DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN
            CREATE ROLE {name} {attributes};
          END IF;
        END $$"""
    )


def upgrade() -> None:
    fixed = 'NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT NOREPLICATION'
    _create_role(SYSTEM, f'NOLOGIN {fixed}')
    _create_role(SERVICE, f'LOGIN {fixed}')
    # an older cluster's role keeps no stray attribute or grant
    op.execute(f'ALTER ROLE {SERVICE} LOGIN {fixed}')
    op.execute(f'GRANT {", ".join((*SCOPE_ROLES, SYSTEM))} TO {SERVICE}')
    op.execute(f'GRANT USAGE, CREATE ON SCHEMA public TO {SYSTEM}')
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {SYSTEM}')
    op.execute(f'REVOKE UPDATE, DELETE ON audit_log FROM {SYSTEM}')
    op.execute(
        f'REVOKE INSERT, UPDATE, DELETE ON spatial_ref_sys, alembic_version FROM {SYSTEM}'
    )
    op.execute(f'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {SYSTEM}')
    # tables a later migration adds (as the same owner) are the system's too
    op.execute(
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE'
        f' ON TABLES TO {SYSTEM}'
    )
    op.execute(
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE'
        f' ON SEQUENCES TO {SYSTEM}'
    )
    op.execute(
        f"""DO $$
        DECLARE t record;
        BEGIN
          FOR t IN SELECT c.relname FROM pg_class c
                   WHERE c.relnamespace = 'public'::regnamespace AND c.relrowsecurity
          LOOP
            IF t.relname = 'audit_log' THEN
              EXECUTE 'CREATE POLICY audit_log_system_read ON audit_log FOR SELECT'
                   || ' TO {SYSTEM} USING (true)';
              EXECUTE 'CREATE POLICY audit_log_system_append ON audit_log FOR INSERT'
                   || ' TO {SYSTEM} WITH CHECK (true)';
            ELSE
              EXECUTE format('CREATE POLICY %I ON %I TO {SYSTEM} USING (true)'
                             ' WITH CHECK (true)', t.relname || '_system', t.relname);
            END IF;
          END LOOP;
        END $$"""
    )
    op.execute(PARTITION_FUNCTION)
    # An owner that is no superuser takes over the tables gridgis_system built
    # (gridgis_partition hands an attached partition to the parent's owner).
    op.execute(
        f"""DO $$ BEGIN
          IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            EXECUTE format('GRANT {SYSTEM} TO %I', current_user);
          END IF;
        END $$"""
    )


def downgrade() -> None:
    op.execute('DROP FUNCTION gridgis_partition(text, text, text)')
    op.execute(
        f"""DO $$
        DECLARE p record;
        BEGIN
          FOR p IN SELECT schemaname, tablename, policyname FROM pg_policies
                   WHERE '{SYSTEM}' = ANY (roles)
          LOOP
            EXECUTE format('DROP POLICY %I ON %I.%I',
                           p.policyname, p.schemaname, p.tablename);
          END LOOP;
        END $$"""
    )
    op.execute(
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {SYSTEM}'
    )
    op.execute(
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {SYSTEM}'
    )
    # the roles are shared by every database of the cluster: only their grants here go
    op.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {SYSTEM}')
    op.execute(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {SYSTEM}')
    op.execute(f'REVOKE ALL ON SCHEMA public FROM {SYSTEM}')
