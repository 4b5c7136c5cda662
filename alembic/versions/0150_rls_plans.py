"""Grid leaders' and cadres' scope policies as uncorrelated IN, and the indexes
they probe.

0084 reached a row's scope through correlated ``EXISTS (SELECT 1 FROM
household_assignments a WHERE a.township_code = t.township_code AND a.household_id
= t.household_id)``. PostgreSQL (15) turns such an EXISTS in a policy into an
AlternativeSubPlan: a hashed subplan at run time, but costed while planning as its
first alternative, one index probe per row. So a grid leader's seq scan of 12 800
households was costed at 108 600 instead of ~800, and every estimate above it was
inflated 10-100x: the planner chose nested loops and per-row probes over hash
joins (a leader's demands list probed each household's assignment twice, each
cadre through a seq scan of all assignments). The same rule as ``(township_code,
household_id) IN (SELECT a.township_code, a.household_id FROM
household_assignments a)`` is a plain hashed subplan, costed as one: the hash is
built once per statement from the rows the assignments' own policy keeps (the
leader's subtree, the cadre's households). The rows each role sees are the same.

The cadres policy of a grid leader probes ``household_assignments.cadre_id`` and a
cadre's scope is ``cadre_id = ...``, a leader's ``grid_id = ANY (...)``: neither
column had an index (a seq scan of all assignments per cadre row, and per
statement for a cadre's scope).

Revision ID: 0150_rls_plans
Revises: 0140_service_login
Create Date: 2026-12-02 23:40:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0150_rls_plans'
down_revision: str | None = '0140_service_login'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

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
ROLES = {'gridgis_leader': 'leader', 'gridgis_cadre': 'cadre'}
INDEXES = {
    'ix_household_assignments_cadre': 'cadre_id',
    'ix_household_assignments_grid': 'grid_id',
}


def _rules(hashed: bool) -> dict[str, dict[str, str]]:
    """Each role's scope rule per table: as IN (``hashed``) or as 0084's EXISTS."""

    def ref(table: str, column: str, source: str, alias: str, key: str) -> str:
        if hashed:
            return (
                f"(township_code, {column}) IN (SELECT {alias}.township_code,"
                f" {alias}.{key} FROM {source} {alias})"
            )
        return (
            f"EXISTS (SELECT 1 FROM {source} {alias} WHERE {alias}.township_code ="
            f" {table}.township_code AND {alias}.{key} = {table}.{column})"
        )

    def assigned(table: str, column: str) -> str:
        return ref(table, column, 'household_assignments', 'a', 'household_id')

    def parent(table: str, source: str, alias: str, column: str) -> str:
        return ref(table, column, source, alias, 'id')

    def parcel(table: str, column: str) -> str:
        return parent(table, 'pasture_parcels', 'p', column)

    shared = {
        'households': assigned('households', 'id'),
        'demand_events': parent('demand_events', 'demands', 'd', 'demand_id'),
        'pasture_parcels': assigned('pasture_parcels', 'holder_household_id'),
        'disputes': f"{parcel('disputes', 'parcel_a_id')}"
        f" OR {parcel('disputes', 'parcel_b_id')}",
        'dispute_events': parent('dispute_events', 'disputes', 'd', 'dispute_id'),
        'parcel_findings': parcel('parcel_findings', 'parcel_id'),
        'hazard_events': parent('hazard_events', 'hazards', 'z', 'hazard_id'),
    }
    leader_cadres = ref('cadres', 'id', 'household_assignments', 'a', 'cadre_id')
    return {
        'leader': {
            **shared,
            'cadres': f"home_grid_id = ANY ({GRIDS}) OR {leader_cadres}",
            'visits': assigned('visits', 'household_id'),
            'demands': assigned('demands', 'household_id'),
        },
        'cadre': {
            **shared,
            'visits': f"cadre_id = {CADRE} OR {assigned('visits', 'household_id')}",
            'demands': f"owner_cadre_id = {CADRE}"
            f" OR {assigned('demands', 'household_id')}",
        },
    }


def _policies(hashed: bool) -> None:
    for short, rules in _rules(hashed).items():
        for table, rule in rules.items():
            op.execute(
                f"ALTER POLICY {table}_scope_{short} ON {table}"
                f" USING ({TOWNSHIP_OK} AND ({rule}))"
            )


def upgrade() -> None:
    for name, column in INDEXES.items():
        # on the partitioned parent: every township's partition gets one
        op.execute(
            f'CREATE INDEX {name} ON household_assignments (township_code, {column})'
        )
    _policies(hashed=True)


def downgrade() -> None:
    _policies(hashed=False)
    for name in INDEXES:
        op.execute(f'DROP INDEX {name}')
