"""The maps' own reads: plain rows out of PostGIS, every statement scoped by township.

Household status and grid coverage are not read here: they come from
``grids.visits.coverage`` (the one rule for both the reports and the maps), routes from
``grids.routing.planner``. A grid's subtree is ``path LIKE p || '%'``, with the path
from ``grids.tree.scope.grid_path``.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from gis_service.core.errors import NotFound
from layers.disputes.workflow import OPEN_DISPUTE_STATUSES

logger = logging.getLogger(__name__)


# Grid polygons of the township (or of :grid_path's subtree) with a label point;
# their coverage numbers are merged in from grids.visits.coverage.coverage_by_grid.
GRID_SHAPES = text(
    """
    SELECT g.id, g.code, g.name, g.level, g.depth,
           NOT EXISTS (SELECT 1 FROM grids ch
                       WHERE ch.township_code = g.township_code AND ch.parent_id = g.id)
             AS is_leaf,
           ST_AsGeoJSON(g.geom, 7) AS geometry,
           ST_X(ST_PointOnSurface(g.geom)) AS label_lon,
           ST_Y(ST_PointOnSurface(g.geom)) AS label_lat
    FROM grids g
    WHERE g.township_code = :t
      AND (CAST(:grid_path AS text) IS NULL
           OR g.path LIKE CAST(:grid_path AS text) || '%')
    ORDER BY g.depth, g.code
    """
)

# Points or polygons: the marker sits on a point inside; a polygon also brings
# its outline. ``warn_radius_m`` is NULL when the kind's default applies.
HAZARDS = text(
    """
    SELECT z.id, z.code, z.kind, z.severity, z.status, z.description,
           z.warn_radius_m, z.found_at, z.deadline,
           ST_X(ST_PointOnSurface(z.geom)) AS lon,
           ST_Y(ST_PointOnSurface(z.geom)) AS lat,
           CASE WHEN GeometryType(z.geom) <> 'POINT'
                THEN ST_AsGeoJSON(z.geom, 6) END AS outline
    FROM hazards z
    LEFT JOIN grids root ON root.township_code = z.township_code
                        AND root.path = CAST(:grid_path AS text)
    WHERE z.township_code = :t
      AND (:closed OR z.status <> 'closed')
      AND (CAST(:grid_path AS text) IS NULL OR ST_Intersects(z.geom, root.geom))
    ORDER BY z.code
    """
)

OPEN_DISPUTES = text(
    """
    SELECT d.id, d.status, d.overlap_area_m2, pa.contract_no AS parcel_a,
           pb.contract_no AS parcel_b, ST_AsGeoJSON(d.overlap, 7) AS geometry
    FROM disputes d
    JOIN pasture_parcels pa ON pa.township_code = d.township_code
                           AND pa.id = d.parcel_a_id
    JOIN pasture_parcels pb ON pb.township_code = d.township_code
                           AND pb.id = d.parcel_b_id
    LEFT JOIN grids root ON root.township_code = d.township_code
                        AND root.path = CAST(:grid_path AS text)
    WHERE d.township_code = :t AND d.status IN :statuses AND d.overlap IS NOT NULL
      AND (CAST(:grid_path AS text) IS NULL OR ST_Intersects(d.overlap, root.geom))
    ORDER BY d.id
    """
).bindparams(bindparam("statuses", value=OPEN_DISPUTE_STATUSES, expanding=True))

DISPUTE = text(
    """
    SELECT d.id, d.status, d.overlap_area_m2, d.first_detected_at,
           d.last_detected_at, ST_AsGeoJSON(d.overlap, 7) AS geometry
    FROM disputes d WHERE d.township_code = :t AND d.id = :id
    """
)

DISPUTE_PARCELS = text(
    """
    SELECT p.id, p.contract_no, p.contract_area_mu::float8 AS contract_area_mu,
           ST_Area(p.geom::geography) AS area_m2,
           h.code AS holder_code, h.head_name AS holder_name,
           h.phone AS holder_phone, h.id_number AS holder_id_number,
           CASE WHEN p.id = d.parcel_a_id THEN 'a' ELSE 'b' END AS side,
           ST_AsGeoJSON(p.geom, 7) AS geometry
    FROM disputes d
    JOIN pasture_parcels p ON p.township_code = d.township_code
                          AND p.id IN (d.parcel_a_id, d.parcel_b_id)
    LEFT JOIN households h ON h.township_code = p.township_code
                          AND h.id = p.holder_household_id
    WHERE d.township_code = :t AND d.id = :id
    ORDER BY side
    """
)


GRIDS_BY_ID = text(
    """
    SELECT g.id, g.code, g.name, g.level, g.depth, true AS is_leaf,
           ST_AsGeoJSON(g.geom, 7) AS geometry,
           ST_X(ST_PointOnSurface(g.geom)) AS label_lon,
           ST_Y(ST_PointOnSurface(g.geom)) AS label_lat
    FROM grids g
    WHERE g.township_code = :t AND g.id = ANY(:ids)
    ORDER BY g.code
    """
)

# The parcels around a dispute (context on its map): those touching the two
# parcels' envelope grown by half its size, at most :limit, nearest first.
NEIGHBOUR_PARCELS = text(
    """
    WITH pair AS (
        SELECT ST_SetSRID(ST_Extent(p.geom)::geometry, 4326) AS box
        FROM disputes d
        JOIN pasture_parcels p ON p.township_code = d.township_code
                              AND p.id IN (d.parcel_a_id, d.parcel_b_id)
        WHERE d.township_code = :t AND d.id = :id
    ), around AS (
        SELECT ST_Expand(box, greatest(ST_XMax(box) - ST_XMin(box),
                                       ST_YMax(box) - ST_YMin(box)) / 2) AS box,
               box AS core
        FROM pair
    )
    SELECT p.contract_no, ST_AsGeoJSON(p.geom, 7) AS geometry
    FROM around, pasture_parcels p
    JOIN disputes d ON d.township_code = p.township_code AND d.id = :id
    WHERE p.township_code = :t AND p.geom && around.box
      AND p.id NOT IN (d.parcel_a_id, d.parcel_b_id)
    ORDER BY p.geom <-> ST_Centroid(around.core)
    LIMIT :limit
    """
)


def _rows(
    session: Session, statement: Any, params: dict[str, Any]
) -> list[dict[str, Any]]:
    return [dict(r) for r in session.execute(statement, params).mappings()]


def grid_shapes(
    session: Session, *, township: str, grid_path: str | None
) -> list[dict[str, Any]]:
    """Grids in scope: polygons as GeoJSON text, leaf flag and a label point."""
    return _rows(session, GRID_SHAPES, {"t": township, "grid_path": grid_path})


def hazard_rows(
    session: Session, *, township: str, grid_path: str | None, closed: bool = False
) -> list[dict[str, Any]]:
    """Hazards in scope (touching the subtree's root when a grid is given).

    Closed (已销号) hazards only when ``closed``: the map shows what is still open.
    """
    return _rows(
        session, HAZARDS, {"t": township, "grid_path": grid_path, "closed": closed}
    )


def open_dispute_rows(
    session: Session, *, township: str, grid_path: str | None
) -> list[dict[str, Any]]:
    """Overlaps of disputes still open or under mediation."""
    return _rows(session, OPEN_DISPUTES, {"t": township, "grid_path": grid_path})


def dispute_rows(
    session: Session, *, township: str, dispute_id: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A dispute and its two parcels with their holders (unmasked: mask on output)."""
    params = {"t": township, "id": dispute_id}
    rows = _rows(session, DISPUTE, params)
    if not rows:
        raise NotFound(f"dispute {dispute_id} does not exist in township {township}")
    return rows[0], _rows(session, DISPUTE_PARCELS, params)


def grids_by_id(
    session: Session, *, township: str, ids: list[int]
) -> list[dict[str, Any]]:
    """The given grids' polygons and label points (context on a route map)."""
    return _rows(session, GRIDS_BY_ID, {"t": township, "ids": ids})


def neighbour_parcels(
    session: Session, *, township: str, dispute_id: int, limit: int = 200
) -> list[dict[str, Any]]:
    """Parcels around a dispute's two parcels (context on its map)."""
    return _rows(
        session, NEIGHBOUR_PARCELS, {"t": township, "id": dispute_id, "limit": limit}
    )
