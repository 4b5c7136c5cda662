"""Grid leaders and cadres get service roles of their own, with plain policies.

After 0083 only ``gridgis_app`` still carried the OR of every role's rule
(``role = 'grid_leader' AND ... OR role = 'cadre' AND ...``), and policies that
reached a household through two layers of other policies (visits -> households
-> assignments). The planner cannot see through either, and chose plans for a
handful of rows: a grid leader's visits and demands lists were 30-70x slower
than without RLS. Now a grid leader's requests run as ``gridgis_leader`` and a
cadre's as ``gridgis_cadre``; each scope policy says that role's rule alone and
reaches a household's scope through ``household_assignments`` directly (its own
policy keeps it to the subtree or the cadre). Grants and the write policies are
copied from ``gridgis_app``, as 0083 did for ``gridgis_wide``.

Revision ID: 0084_access_roles
Revises: 0083_access_wide
Create Date: 2026-12-02 15:40:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0084_access_roles'
down_revision: str | None = '0083_access_wide'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP = 'gridgis_app'
LEADER = 'gridgis_leader'
CADRE_ROLE = 'gridgis_cadre'
TOWNSHIPS = (
    "CAST((SELECT string_to_array(current_setting('gridgis.townships', true), ','))"
    " AS text[])"
)
TOWNSHIP_OK = (
    "((SELECT nullif(current_setting('gridgis.townships', true), '')) = '*'"
    f" OR township_code = ANY ({TOWNSHIPS}))"
)
GRIDS = (
    "CAST((SELECT CAST(string_to_array(nullif(current_setting('gridgis.grid_ids',"
    " true), ''), ',') AS bigint[])) AS bigint[])"
)
CADRE = "(SELECT CAST(nullif(current_setting('gridgis.cadre_id', true), '') AS bigint))"


def assigned(table: str, column: str) -> str:
    """The household is assigned in scope (the assignments' own policy says whose)."""
    return (
        f"EXISTS (SELECT 1 FROM household_assignments a WHERE a.township_code ="
        f" {table}.township_code AND a.household_id = {table}.{column})"
    )


def parent(table: str, ref: str, alias: str, column: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM {ref} {alias} WHERE {alias}.township_code ="
        f" {table}.township_code AND {alias}.id = {table}.{column})"
    )


def parcel(table: str, column: str) -> str:
    return parent(table, 'pasture_parcels', 'p', column)


SHARED = {
    'households': assigned('households', 'id'),
    'demand_events': parent('demand_events', 'demands', 'd', 'demand_id'),
    'visit_rules': 'true',
    'pasture_parcels': assigned('pasture_parcels', 'holder_household_id'),
    'disputes': f"{parcel('disputes', 'parcel_a_id')} OR {parcel('disputes', 'parcel_b_id')}",
    'dispute_events': parent('dispute_events', 'disputes', 'd', 'dispute_id'),
    'dispute_runs': 'false',
    'parcel_findings': parcel('parcel_findings', 'parcel_id'),
    'grids': f"id = ANY ({GRIDS})",
    'hazards': f"grid_id = ANY ({GRIDS})",
    'hazard_events': parent('hazard_events', 'hazards', 'z', 'hazard_id'),
    'shelters': 'true',
    'roads': 'true',
    'jobs': 'false',
}
SCOPES: dict[str, dict[str, str]] = {
    LEADER: {
        **SHARED,
        'household_assignments': f"grid_id = ANY ({GRIDS})",
        'cadres': f"home_grid_id = ANY ({GRIDS}) OR EXISTS (SELECT 1 FROM"
        " household_assignments a WHERE a.township_code = cadres.township_code"
        " AND a.cadre_id = cadres.id)",
        'visits': assigned('visits', 'household_id'),
        'demands': assigned('demands', 'household_id'),
    },
    CADRE_ROLE: {
        **SHARED,
        'household_assignments': f"cadre_id = {CADRE}",
        'cadres': f"id = {CADRE}",
        'visits': f"cadre_id = {CADRE} OR {assigned('visits', 'household_id')}",
        'demands': f"owner_cadre_id = {CADRE} OR {assigned('demands', 'household_id')}",
    },
}


def upgrade() -> None:
    for role, scopes in SCOPES.items():
        short = role.removeprefix('gridgis_')
        op.execute(
            f"""DO $$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
                  NOBYPASSRLS NOINHERIT;
              END IF;
            END $$"""
        )
        tables = ', '.join(f"'{t}'" for t in scopes)
        op.execute(
            f"""DO $$
            DECLARE g record; p record;
            BEGIN
              FOR g IN SELECT n.nspname FROM pg_namespace n
                       WHERE has_schema_privilege('{APP}', n.oid, 'USAGE')
                         AND n.nspname NOT LIKE 'pg\\_%'
                         AND n.nspname <> 'information_schema'
              LOOP
                EXECUTE format('GRANT USAGE ON SCHEMA %I TO {role}', g.nspname);
              END LOOP;
              FOR g IN SELECT table_schema, table_name, privilege_type
                       FROM information_schema.role_table_grants
                       WHERE grantee = '{APP}'
              LOOP
                EXECUTE format('GRANT %s ON %I.%I TO {role}',
                               g.privilege_type, g.table_schema, g.table_name);
              END LOOP;
              EXECUTE 'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}';
              FOR p IN SELECT schemaname, tablename, policyname, permissive, cmd, qual,
                              with_check
                       FROM pg_policies WHERE '{APP}' = ANY (roles)
                         AND NOT (policyname LIKE '%\\_scope'
                                  AND tablename IN ({tables}))
              LOOP
                EXECUTE format('CREATE POLICY %I ON %I.%I AS %s FOR %s TO {role}',
                               p.policyname || '_{short}', p.schemaname,
                               p.tablename, p.permissive, p.cmd)
                     || coalesce(' USING (' || p.qual || ')', '')
                     || coalesce(' WITH CHECK (' || p.with_check || ')', '');
              END LOOP;
            END $$"""
        )
        for table, rule in scopes.items():
            op.execute(
                f"CREATE POLICY {table}_scope_{short} ON {table} TO {role}"
                f" USING ({TOWNSHIP_OK} AND ({rule}))"
            )


def downgrade() -> None:
    for role in SCOPES:
        op.execute(
            f"""DO $$
            DECLARE p record; g record;
            BEGIN
              FOR p IN SELECT schemaname, tablename, policyname FROM pg_policies
                       WHERE '{role}' = ANY (roles)
              LOOP
                EXECUTE format('DROP POLICY %I ON %I.%I',
                               p.policyname, p.schemaname, p.tablename);
              END LOOP;
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
