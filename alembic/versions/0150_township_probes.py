"""One township's probes among many: parcels' GIST (geom), visits by township first.

Pasture parcels get a plain GIST (geom) index again, instead of (township_code, geom).

Measured on the province benchmark (80 townships x 2 500 parcels, 200 000 rows):
detection's per-parcel probe into GIST (township_code, geom) (migration 0120,
btree_gist) cost 0.13 ms, into GIST (geom) 0.02 ms; the self-join of one township
took 337 ms against 50 ms, and 137 ms alone. btree_gist keeps each inner key of
the text column as a pair of varlena bounds compared on every page (with
``COLLATE "C"`` still 200 ms). Townships do not overlap, so a geometry probe
meets few rows of other townships. The BitmapAnd with the primary key's
township range that 0120 was made against is kept out by the statement itself
(``layers/disputes/disputes.sql``: the township test on the probed side cannot
use an index, and bitmap scans are off for that statement alone);
``tests/service/test_township_plans.py`` holds the plan.

Visits: the last visit of each household of a township (coverage, the uncovered
list, the map) was a scan of the township's visits through the primary key and a
hash aggregate, reading heap pages shared with other townships' visits; the index
(township_code, household_id, visited_at) answers it by an index-only scan in
household order, and serves the foreign key's cascade from households, which
(household_id, visited_at) did without its township.

Revision ID: 0150_township_probes
Revises: 0140_service_login
Create Date: 2026-12-02 23:45:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0150_township_probes'
down_revision: str | None = '0140_service_login'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute('CREATE INDEX idx_pasture_parcels_geom ON pasture_parcels USING gist (geom)')
    op.execute('DROP INDEX idx_pasture_parcels_township_geom')
    op.execute(
        'CREATE INDEX ix_visits_township_household_time '
        'ON visits (township_code, household_id, visited_at)'
    )
    op.execute('DROP INDEX ix_visits_household_time')


def downgrade() -> None:
    op.execute(
        'CREATE INDEX idx_pasture_parcels_township_geom ON pasture_parcels '
        'USING gist (township_code, geom)'
    )
    op.execute('DROP INDEX idx_pasture_parcels_geom')
    op.execute('CREATE INDEX ix_visits_household_time ON visits (household_id, visited_at)')
    op.execute('DROP INDEX ix_visits_township_household_time')
