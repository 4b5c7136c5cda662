"""Grid leaders' and cadres' scope policies as uncorrelated IN, and the indexes
they probe.

0084 reached a row's scope through correlated ``EXISTS (SELECT 1 FROM
household_assignments a WHERE a.township_code = t.township_code AND a.household_id
= t.household_id)``. PostgreSQL (15) turns such an EXISTS in a policy into an
AlternativeSubPlan: a hashed subplan at run time, but costed while planning as its
first alternative, one index probe per row. So a grid leader's seq scan of 12 800
households was costed at 108 600 instead of ~1 300, and every estimate above it was
inflated 10-100x: the planner chose nested loops and per-row probes over hash
joins (a leader's demands list probed each household's assignment twice, each
cadre through a seq scan of all assignments). The same rule as ``(township_code,
household_id) IN (SELECT a.township_code, a.household_id FROM
household_assignments a)`` is a plain hashed subplan, costed as one: the hash is
built once per statement from the rows the assignments' own policy keeps (the
leader's subtree, the cadre's households: a selective filter, so the hash is
estimated small and stays hashed). The rows each role sees are the same.

The cadres policy of a grid leader probes ``household_assignments.cadre_id`` and a
cadre's scope is ``cadre_id = ...``, a leader's ``grid_id = ANY (...)``: neither
column had an index (a seq scan of all assignments per cadre row, and per
statement for a cadre's scope). The indexes lead with that column: the IN
sub-query names no township (its policy's township check is an OR, not an index
condition), so ``(township_code, grid_id)`` would be read whole.

Revision ID: 0151_rls_plans
Revises: 0150_township_probes
Create Date: 2026-12-02 23:40:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0151_rls_plans'
down_revision: str | None = '0150_township_probes'
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
    """Each role's rules that reach household_assignments: IN (``hashed``) or
    0084's EXISTS. Rules through another table (demand_events -> demands,
    disputes -> pasture_parcels ...) keep EXISTS: that table's own policy leaves
    no selective filter to estimate its rows by, and an IN sub-query estimated
    over hash memory (a province's parcels) would run once per row, unhashed.
    """

    def assigned(table: str, column: str, key: str = 'household_id') -> str:
        if hashed:
            return (
                f"(township_code, {column}) IN (SELECT a.township_code, a.{key}"
                " FROM household_assignments a)"
            )
        return (
            f"EXISTS (SELECT 1 FROM household_assignments a WHERE a.township_code ="
            f" {table}.township_code AND a.{key} = {table}.{column})"
        )

    shared = {
        'households': assigned('households', 'id'),
        'pasture_parcels': assigned('pasture_parcels', 'holder_household_id'),
    }
    return {
        'leader': {
            **shared,
            'cadres': f"home_grid_id = ANY ({GRIDS})"
            f" OR {assigned('cadres', 'id', 'cadre_id')}",
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
        op.execute(f'CREATE INDEX {name} ON household_assignments ({column})')
    _policies(hashed=True)


def downgrade() -> None:
    _policies(hashed=False)
    for name in INDEXES:
        op.execute(f'DROP INDEX {name}')
