"""Row-level security: the service's own role and one scope policy per table.

The service connects as the tables' owner and switches every request's
transaction to ``gridgis_app`` (``set_config('role', 'gridgis_app', true)``), a
role that owns nothing, cannot bypass RLS and holds only the grants below. The
request's scope comes in per-transaction settings (``gridgis.role``,
``gridgis.townships`` = '*' or a comma list, ``gridgis.grid_ids``,
``gridgis.cadre_id``, ``gridgis.user_id``); unset settings see nothing. Each
setting is read in a scalar sub-select, so it is evaluated once per query (an
InitPlan), not once per row.

Partitions are reached only through their parent (no grant on a partition), where
the parent's policies apply. Views run with the caller's rights
(``security_invoker``), so the policies of the tables below them apply too.

Revision ID: 0081_access_rls
Revises: 0080_access
Create Date: 2026-12-02 13:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0081_access_rls'
down_revision: str | None = '0080_access'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP = 'gridgis_app'


def setting(name: str) -> str:
    return f"(SELECT nullif(current_setting('gridgis.{name}', true), ''))"


ROLE = setting('role')
CADRE = f"(SELECT CAST(nullif(current_setting('gridgis.cadre_id', true), '') AS bigint))"
# CAST around the sub-select: ``x = ANY (array)``, not ``x = ANY (subquery)``
GRIDS = (
    "CAST((SELECT CAST(string_to_array(nullif(current_setting('gridgis.grid_ids',"
    " true), ''), ',') AS bigint[])) AS bigint[])"
)
TOWNSHIPS = (
    "CAST((SELECT string_to_array(current_setting('gridgis.townships', true), ','))"
    " AS text[])"
)
USER_ID = f"(SELECT CAST(nullif(current_setting('gridgis.user_id', true), '') AS bigint))"


def township_ok(column: str = 'township_code') -> str:
    return (
        f"({setting('townships')} = '*' OR {column} = ANY ({TOWNSHIPS}))"
    )


WIDE = f"{ROLE} IN ('admin', 'viewer')"  # the whole township (viewers: aggregates)


def household_in_scope(table: str, column: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM households h WHERE h.township_code = {table}.township_code"
        f" AND h.id = {table}.{column})"
    )


def parcel_in_scope(table: str, column: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM pasture_parcels p WHERE p.township_code = "
        f"{table}.township_code AND p.id = {table}.{column})"
    )


# table -> who may see a row (besides the township check), who may write it
SCOPES: dict[str, tuple[str, tuple[str, ...]]] = {
    'grids': (f"{WIDE} OR id = ANY ({GRIDS})", ('admin',)),
    'household_assignments': (
        f"{WIDE} OR ({ROLE} = 'grid_leader' AND grid_id = ANY ({GRIDS}))"
        f" OR ({ROLE} = 'cadre' AND cadre_id = {CADRE})",
        ('admin',),
    ),
    'households': (
        f"{WIDE} OR EXISTS (SELECT 1 FROM household_assignments a"
        " WHERE a.township_code = households.township_code"
        " AND a.household_id = households.id)",
        ('admin', 'grid_leader', 'cadre'),
    ),
    'cadres': (
        f"{WIDE} OR ({ROLE} = 'cadre' AND id = {CADRE})"
        f" OR ({ROLE} = 'grid_leader' AND (home_grid_id = ANY ({GRIDS})"
        " OR EXISTS (SELECT 1 FROM household_assignments a"
        " WHERE a.township_code = cadres.township_code AND a.cadre_id = cadres.id)))",
        ('admin', 'grid_leader'),
    ),
    'visits': (
        f"{WIDE} OR ({ROLE} = 'cadre' AND cadre_id = {CADRE})"
        f" OR {household_in_scope('visits', 'household_id')}",
        ('admin', 'grid_leader', 'cadre'),
    ),
    'demands': (
        f"{WIDE} OR ({ROLE} = 'cadre' AND owner_cadre_id = {CADRE})"
        f" OR {household_in_scope('demands', 'household_id')}",
        ('admin', 'grid_leader', 'cadre'),
    ),
    'demand_events': (
        f"{WIDE} OR EXISTS (SELECT 1 FROM demands d WHERE d.township_code = "
        "demand_events.township_code AND d.id = demand_events.demand_id)",
        ('admin', 'grid_leader', 'cadre'),
    ),
    'visit_rules': ('true', ('admin',)),
    'pasture_parcels': (
        f"{WIDE} OR {household_in_scope('pasture_parcels', 'holder_household_id')}",
        ('admin',),
    ),
    'disputes': (
        f"{WIDE} OR {parcel_in_scope('disputes', 'parcel_a_id')}"
        f" OR {parcel_in_scope('disputes', 'parcel_b_id')}",
        ('admin', 'grid_leader'),
    ),
    'dispute_events': (
        f"{WIDE} OR EXISTS (SELECT 1 FROM disputes d WHERE d.township_code = "
        "dispute_events.township_code AND d.id = dispute_events.dispute_id)",
        ('admin', 'grid_leader'),
    ),
    'dispute_runs': (WIDE, ('admin',)),
    'parcel_findings': (
        f"{WIDE} OR {parcel_in_scope('parcel_findings', 'parcel_id')}",
        ('admin',),
    ),
    'hazards': (f"{WIDE} OR grid_id = ANY ({GRIDS})", ('admin', 'grid_leader')),
    'hazard_events': (
        f"{WIDE} OR EXISTS (SELECT 1 FROM hazards z WHERE z.township_code = "
        "hazard_events.township_code AND z.id = hazard_events.hazard_id)",
        ('admin', 'grid_leader'),
    ),
    'shelters': ('true', ('admin',)),
    'roads': ('true', ('admin',)),
    # long jobs (imports, assignment and detection runs) are an admin's
    'jobs': (f"{ROLE} = 'admin'", ('admin',)),
}
VIEWS = ('households_assigned',)


def _writers(table: str, roles: tuple[str, ...]) -> list[str]:
    allowed = f"{ROLE} IN ({', '.join(repr(r) for r in roles)})"
    return [
        f'CREATE POLICY {table}_insert ON {table} AS RESTRICTIVE FOR INSERT'
        f' TO {APP} WITH CHECK ({allowed})',
        f'CREATE POLICY {table}_update ON {table} AS RESTRICTIVE FOR UPDATE'
        f' TO {APP} USING ({allowed}) WITH CHECK ({allowed})',
        f'CREATE POLICY {table}_delete ON {table} AS RESTRICTIVE FOR DELETE'
        f' TO {APP} USING ({allowed})',
    ]


def upgrade() -> None:
    op.execute(
        f"""DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP}') THEN
            CREATE ROLE {APP} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
              NOBYPASSRLS NOINHERIT;
          END IF;
        END $$"""
    )
    op.execute(f'GRANT USAGE ON SCHEMA public TO {APP}')
    for table, (scope, writers) in SCOPES.items():
        op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP}')
        op.execute(f'ALTER TABLE {table} ENABLE ROW LEVEL SECURITY')
        op.execute(
            f'CREATE POLICY {table}_scope ON {table} TO {APP}'
            f' USING ({township_ok()} AND ({scope}))'
        )
        for statement in _writers(table, writers):
            op.execute(statement)
    # townships: seen in scope; only an admin of every township adds one
    op.execute(f'GRANT SELECT, INSERT, UPDATE ON townships TO {APP}')
    op.execute('ALTER TABLE townships ENABLE ROW LEVEL SECURITY')
    op.execute(
        f"CREATE POLICY townships_scope ON townships TO {APP} USING ({township_ok('code')})"
        f" WITH CHECK ({ROLE} = 'admin' AND {township_ok('code')})"
    )
    # the audit log: appended by anyone (as themselves), read by admins in scope
    op.execute(f'GRANT SELECT, INSERT ON audit_log TO {APP}')
    op.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {APP}')
    op.execute('ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY')
    op.execute(
        f"CREATE POLICY audit_log_read ON audit_log FOR SELECT TO {APP}"
        f" USING ({ROLE} = 'admin' AND ({setting('townships')} = '*'"
        f" OR township_code = ANY ({TOWNSHIPS})))"
    )
    op.execute(
        f'CREATE POLICY audit_log_append ON audit_log FOR INSERT TO {APP}'
        f' WITH CHECK (user_id = {USER_ID})'
    )
    # users: the service role never reads them (sign-in runs before the switch)
    op.execute('ALTER TABLE users ENABLE ROW LEVEL SECURITY')
    op.execute(f"CREATE POLICY users_none ON users TO {APP} USING (false)")
    for view in VIEWS:
        op.execute(f'ALTER VIEW {view} SET (security_invoker = true)')
        op.execute(f'GRANT SELECT ON {view} TO {APP}')
    op.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP}')


def downgrade() -> None:
    for view in VIEWS:
        op.execute(f'REVOKE ALL ON {view} FROM {APP}')
        op.execute(f'ALTER VIEW {view} RESET (security_invoker)')
    op.execute(f'DROP POLICY users_none ON users')
    op.execute('ALTER TABLE users DISABLE ROW LEVEL SECURITY')
    op.execute('DROP POLICY audit_log_read ON audit_log')
    op.execute('DROP POLICY audit_log_append ON audit_log')
    op.execute('ALTER TABLE audit_log DISABLE ROW LEVEL SECURITY')
    op.execute('DROP POLICY townships_scope ON townships')
    op.execute('ALTER TABLE townships DISABLE ROW LEVEL SECURITY')
    for table in SCOPES:
        for suffix in ('scope', 'insert', 'update', 'delete'):
            op.execute(f'DROP POLICY {table}_{suffix} ON {table}')
        op.execute(f'ALTER TABLE {table} DISABLE ROW LEVEL SECURITY')
    # the role is shared by every database of the cluster: only its grants here go
    op.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP}')
    op.execute(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP}')
    op.execute(f'REVOKE ALL ON SCHEMA public FROM {APP}')
