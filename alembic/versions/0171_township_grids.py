"""How many grids a township has, for any signed-in scope: ``gridgis_township_grids``.

Coverage reads each household's last visit either by probing the households one
by one (cheap for a small part of the township) or by reading the township's
visits once (cheaper past about half of it). It chooses by the share of the
township's grids the statement can see, and a grid leader's or cadre's policies
hide the township's other grids: this SECURITY DEFINER function counts them.
A count of grids names no household and no person.

Revision ID: 0171_township_grids
Revises: 0170_township_roles
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0171_township_grids"
down_revision: str | None = "0170_township_roles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = (
    "gridgis_app",
    "gridgis_wide",
    "gridgis_county",
    "gridgis_all",
    "gridgis_leader",
    "gridgis_cadre",
    "gridgis_system",
)


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION gridgis_township_grids(township text) RETURNS bigint
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
        AS $$ SELECT count(*) FROM grids WHERE township_code = township $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION gridgis_township_grids(text) FROM PUBLIC")
    op.execute(
        f"GRANT EXECUTE ON FUNCTION gridgis_township_grids(text) TO {', '.join(ROLES)}"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION gridgis_township_grids(text)")
