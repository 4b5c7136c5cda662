"""One township is an equality the planner uses; a county and everything get roles.

Every scope policy tested a row's township as ``township_code = ANY (<list>) OR
<list> = '*'``: an array search on every row a statement reads, even when the
query itself already says ``township_code = '...'`` (an admin's 100 000-row
households count: ~18 ms against ~10 ms with no policy). A scope of one
township (a township's admin or viewer, every grid leader and cadre) now has
the plain equality ``township_code = (SELECT <the setting>)``: the planner puts
it into the query's equivalence class, so with the query's own township it is a
single one-time test per statement, not one per row (the same count: ~11 ms).

A list can not be an equality, nor '*' a row test, so the users with them run
as roles of their own, each with twins of ``gridgis_wide``'s policies (copied
from the catalogue, as 0083 made ``gridgis_wide``'s from ``gridgis_app``'s):

* ``gridgis_county`` (an admin or viewer of several townships): the list test;
* ``gridgis_all`` (the installation's first admin, '*'): no township test.

Neither is a member of another scope role (membership would OR that role's
policies in). A setting that names a list, under a one-township role, matches
no row: a wrong role hides rows, never shows them. ``jobs``' policies (written
differently, and on a small table) and ``gridgis_app`` (the template; it runs
no signed-in request) keep their list-or-'*' test. A later migration that adds
a table gives it policies for every scope role (tests/auth/test_rls.py).

Revision ID: 0170_township_roles
Revises: 0161_policy_order
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = '0170_township_roles'
down_revision: str | None = '0161_policy_order'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WIDE = 'gridgis_wide'
ONE_TOWNSHIP = (WIDE, 'gridgis_leader', 'gridgis_cadre')
# new role -> its policies' name suffix (gridgis_wide's are '_w')
COPIES = {'gridgis_county': '_county', 'gridgis_all': '_all'}
SERVICE = 'gridgis_service'

# as pg_get_expr prints them (pg_policies.qual / with_check); group 1: the column
_COLUMN = r"(\(?[a-z_.]+\)?(?:::text)?)"
_LIST = (
    r"\(" + _COLUMN + r" = ANY \(\( SELECT string_to_array\("
    r"current_setting\('gridgis\.townships'::text, true\), ','::text\)"
    r" AS string_to_array\)::text\[\]\)\)"
)
_FLAG = (
    "(( SELECT NULLIF(current_setting('gridgis.townships'::text, true), ''::text)"
    " AS \"nullif\") = '*'::text)"
)
_EITHER = re.compile(r"\(" + _LIST + re.escape(" OR " + _FLAG) + r"\)")
_ONE = re.compile(
    r"\(" + _COLUMN + re.escape(
        " = ( SELECT NULLIF(current_setting('gridgis.townships'::text, true),"
        " ''::text) AS \"nullif\"))"
    )
)
ONE = "({} = (SELECT NULLIF(current_setting('gridgis.townships', true), '')))"
LIST = (
    "({} = ANY (CAST((SELECT string_to_array(current_setting('gridgis.townships',"
    " true), ',')) AS text[])))"
)
EITHER = "(" + LIST + " OR " + _FLAG + ")"


def _policies(role: str) -> list[tuple[str, str, str, str, str, str | None, str | None]]:
    rows = op.get_bind().execute(
        text(
            "SELECT schemaname, tablename, policyname, permissive, cmd, qual,"
            " with_check FROM pg_policies WHERE CAST(:r AS name) = ANY (roles)"
            " ORDER BY tablename, policyname"
        ),
        {"r": role},
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _rewrite(expr: str | None, pattern: re.Pattern[str], form: str) -> str | None:
    return None if expr is None else pattern.sub(lambda m: form.format(m[1]), expr)


def _alter(role: str, pattern: re.Pattern[str], form: str) -> None:
    for schema, table, name, _, _, qual, check in _policies(role):
        parts = []
        for clause, expr in (("USING", qual), ("WITH CHECK", check)):
            new = _rewrite(expr, pattern, form)
            if new != expr:
                parts.append(f"{clause} ({new})")
        if parts:
            op.execute(f'ALTER POLICY "{name}" ON "{schema}"."{table}" ' + " ".join(parts))


def _grant_as_wide(role: str) -> None:
    """The same schema, table and sequence privileges as ``gridgis_wide``."""
    op.execute(
        f"""DO $$
        DECLARE g record;
        BEGIN
          FOR g IN SELECT n.nspname FROM pg_namespace n
                   WHERE has_schema_privilege('{WIDE}', n.oid, 'USAGE')
                     AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
          LOOP
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO {role}', g.nspname);
          END LOOP;
          FOR g IN SELECT table_schema, table_name, privilege_type
                   FROM information_schema.role_table_grants WHERE grantee = '{WIDE}'
          LOOP
            EXECUTE format('GRANT %s ON %I.%I TO {role}',
                           g.privilege_type, g.table_schema, g.table_name);
          END LOOP;
          FOR g IN SELECT c.relnamespace::regnamespace AS nsp, c.relname,
                          a.privilege_type
                   FROM pg_class c, aclexplode(c.relacl) a
                   WHERE c.relkind = 'S' AND a.grantee = '{WIDE}'::regrole
          LOOP
            EXECUTE format('GRANT %s ON SEQUENCE %s.%I TO {role}',
                           g.privilege_type, g.nsp, g.relname);
          END LOOP;
        END $$"""
    )


def upgrade() -> None:
    fixed = 'NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT NOREPLICATION'
    wide = _policies(WIDE)
    for role, suffix in COPIES.items():
        op.execute(
            f"""DO $$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} NOLOGIN {fixed};
              END IF;
            END $$"""
        )
        op.execute(f'ALTER ROLE {role} NOLOGIN {fixed}')
        op.execute(f'GRANT {role} TO {SERVICE}')
        _grant_as_wide(role)
        form = LIST if role == 'gridgis_county' else 'true'
        for schema, table, name, permissive, cmd, qual, check in wide:
            twin = name.removesuffix('_w') + suffix
            using = _rewrite(qual, _EITHER, form)
            checked = _rewrite(check, _EITHER, form)
            op.execute(
                f'CREATE POLICY "{twin}" ON "{schema}"."{table}" AS {permissive}'
                f' FOR {cmd} TO {role}'
                + (f' USING ({using})' if using is not None else '')
                + (f' WITH CHECK ({checked})' if checked is not None else '')
            )
    for role in ONE_TOWNSHIP:
        _alter(role, _EITHER, ONE)


def downgrade() -> None:
    for role in ONE_TOWNSHIP:
        _alter(role, _ONE, EITHER)
    for role in COPIES:
        for schema, table, name, *_ in _policies(role):
            op.execute(f'DROP POLICY "{name}" ON "{schema}"."{table}"')
        # the role is shared by every database of the cluster: only its grants here go
        op.execute(
            f"""DO $$
            DECLARE g record;
            BEGIN
              FOR g IN SELECT n.nspname FROM pg_namespace n
                       WHERE has_schema_privilege('{role}', n.oid, 'USAGE')
                         AND n.nspname NOT LIKE 'pg\\_%'
                         AND n.nspname <> 'information_schema'
              LOOP
                EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM {role}',
                               g.nspname);
                EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM {role}',
                               g.nspname);
                EXECUTE format('REVOKE ALL ON SCHEMA %I FROM {role}', g.nspname);
              END LOOP;
            END $$"""
        )
