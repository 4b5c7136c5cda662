"""A cadre records the re-checks (复查) of the hazards in their grids.

Re-checks become stops in the responsible cadre's route, but the cadre's write
policies on ``hazards`` and ``hazard_events`` allowed admins and grid leaders
only: the check's ``SELECT ... FOR UPDATE`` found no row and the cadre was told
the hazard did not exist. The row scope stays the cadre's grids; which writes a
cadre may make (re-checks, not workflow steps) is the function-level check in
``gis_service.core.auth.policy``.

Revision ID: 0130_cadre_checks
Revises: 0120_scale2
Create Date: 2026-12-02 20:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0130_cadre_checks"
down_revision: str | None = "0120_scale2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "(SELECT NULLIF(current_setting('gridgis.role', true), ''))"


def _rule(roles: tuple[str, ...]) -> str:
    return f"{ROLE} = ANY (ARRAY[{', '.join(repr(r) for r in roles)}])"


def _set(roles: tuple[str, ...]) -> None:
    rule = _rule(roles)
    op.execute(
        f"ALTER POLICY hazards_update_cadre ON hazards USING ({rule}) WITH CHECK ({rule})"
    )
    op.execute(
        f"ALTER POLICY hazard_events_insert_cadre ON hazard_events WITH CHECK ({rule})"
    )


def upgrade() -> None:
    _set(("admin", "grid_leader", "cadre"))


def downgrade() -> None:
    _set(("admin", "grid_leader"))
