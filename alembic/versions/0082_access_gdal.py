"""Masked views for desktop GIS, and the read-only role that sees only them.

``gridgis db url --gdal`` gives QGIS/ogrinfo a login as ``gridgis_reader``: no
grant on any table, SELECT on the views of schema ``gdal``, where ID numbers and
phones are masked as the API masks them (gis_service.core.privacy).

Revision ID: 0082_access_gdal
Revises: 0081_access_rls
Create Date: 2026-12-02 13:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0082_access_gdal'
down_revision: str | None = '0081_access_rls'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READER = 'gridgis_reader'

FUNCTIONS = """
CREATE FUNCTION gdal.mask_id_number(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN v IS NULL OR v = '' THEN v
              WHEN length(v) >= 15 THEN left(v, 6) || repeat('*', length(v) - 10) || right(v, 4)
              WHEN length(v) >= 8 THEN left(v, 2) || repeat('*', length(v) - 4) || right(v, 2)
              ELSE repeat('*', length(v)) END
$$;
CREATE FUNCTION gdal.mask_phone(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN v IS NULL OR v = '' THEN v
              WHEN length(v) >= 11 THEN left(v, 3) || repeat('*', length(v) - 7) || right(v, 4)
              WHEN length(v) >= 5 THEN repeat('*', length(v) - 2) || right(v, 2)
              ELSE repeat('*', length(v)) END
$$;
"""

VIEWS = {
    'households': """
        SELECT h.township_code, h.code, h.head_name, h.members, h.village, h.address,
               array_to_string(h.tags, ',') AS tags,
               gdal.mask_id_number(h.id_number) AS id_number,
               gdal.mask_phone(h.phone) AS phone,
               g.code AS grid_code, c.code AS cadre_code, h.geom
        FROM households h
        LEFT JOIN household_assignments a
               ON a.township_code = h.township_code AND a.household_id = h.id
        LEFT JOIN grids g ON g.township_code = a.township_code AND g.id = a.grid_id
        LEFT JOIN cadres c ON c.township_code = a.township_code AND c.id = a.cadre_id""",
    'grids': """
        SELECT township_code, code, name, level, depth, path, geom FROM grids""",
    'cadres': """
        SELECT c.township_code, c.code, c.name, c.role, gdal.mask_phone(c.phone) AS phone,
               g.code AS home_grid_code, c.capacity, c.active, c.base
        FROM cadres c
        LEFT JOIN grids g ON g.township_code = c.township_code AND g.id = c.home_grid_id""",
    'pasture_parcels': """
        SELECT p.township_code, p.contract_no, h.code AS holder_code,
               p.contract_area_mu, p.geom
        FROM pasture_parcels p
        LEFT JOIN households h
               ON h.township_code = p.township_code AND h.id = p.holder_household_id""",
    'hazards': """
        SELECT township_code, code, kind, severity, status, description, warn_radius_m,
               found_at, deadline, closed_at, geom FROM hazards""",
    'roads': """SELECT township_code, code, name, kind, geom FROM roads""",
}


def upgrade() -> None:
    op.execute(
        f"""DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{READER}') THEN
            CREATE ROLE {READER} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
              NOBYPASSRLS NOINHERIT;
          END IF;
        END $$"""
    )
    op.execute('CREATE SCHEMA gdal')
    op.execute(FUNCTIONS)
    for name, body in VIEWS.items():
        op.execute(f'CREATE VIEW gdal.{name} AS {body}')
    op.execute(f'GRANT USAGE ON SCHEMA gdal TO {READER}')
    op.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA gdal TO {READER}')


def downgrade() -> None:
    op.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA gdal FROM {READER}')
    op.execute(f'REVOKE ALL ON SCHEMA gdal FROM {READER}')
    op.execute('DROP SCHEMA gdal CASCADE')
