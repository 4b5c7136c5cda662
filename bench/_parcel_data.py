"""Synthetic pasture parcels for the dispute benchmark: a Voronoi tessellation
with ~3 % of parcels spilling over their neighbours and ~2 % digitising slivers."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

import geopandas as gpd
import shapely
from shapely.geometry import MultiPolygon

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CENTER = (102.5, 37.1)
PARCEL_KM2 = 0.67  # about 1000 mu, a typical household's contracted pasture


def make_parcels(n: int, *, seed: int = 6) -> gpd.GeoDataFrame:
    """``n`` parcels (contract_no, holder_code, contract_area_mu, geometry)."""
    rng = np.random.default_rng(seed)
    side_km = math.sqrt(n * PARCEL_KM2)
    km_lon = 111.32 * math.cos(math.radians(CENTER[1]))
    half_x, half_y = side_km / km_lon / 2, side_km / 111.0 / 2
    box = shapely.box(
        CENTER[0] - half_x, CENTER[1] - half_y, CENTER[0] + half_x, CENTER[1] + half_y
    )
    seeds = shapely.points(
        rng.uniform(box.bounds[0], box.bounds[2], n),
        rng.uniform(box.bounds[1], box.bounds[3], n),
    )
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=box)
    )
    cells = shapely.intersection(cells, box)
    cells = shapely.set_precision(cells, 1e-7)
    cells = cells[~shapely.is_empty(cells) & (shapely.area(cells) > 0)]
    spill = rng.random(len(cells)) < 0.03
    cells[spill] = shapely.buffer(
        cells[spill], rng.uniform(0.0004, 0.0011, spill.sum()), join_style="mitre"
    )
    sliver = (~spill) & (rng.random(len(cells)) < 0.02)
    cells[sliver] = shapely.buffer(cells[sliver], 0.000015, join_style="mitre")
    households = max(1, int(len(cells) * 0.8))  # some households hold two parcels
    holders = rng.integers(0, households, len(cells))
    frame = gpd.GeoDataFrame(
        {
            "contract_no": [f"B-{i + 1:07d}" for i in range(len(cells))],
            "holder_code": [f"HB{k:07d}" for k in holders],
        },
        geometry=[MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in cells],
        crs=4326,
    )
    area_mu = frame.to_crs(frame.estimate_utm_crs()).area.to_numpy() / (10_000 / 15)
    noise = rng.normal(1.0, 0.015, len(frame))
    off = rng.random(len(frame)) < 0.03
    noise[off] *= rng.choice([0.7, 1.35], off.sum())
    frame["contract_area_mu"] = np.round(area_mu * noise, 2)
    return frame


def load_parcels(session: Session, township: str, frame: gpd.GeoDataFrame) -> None:
    """Replace ``township`` with these parcels and their holders (COPY + INSERT)."""
    from sqlalchemy import text

    from gis_service.app.demo.load import delete_township
    from gis_service.core.bulk import copy_frame
    from gis_service.core.db import atomic

    with atomic(session):
        delete_township(session, township=township)
        session.execute(
            text("INSERT INTO townships (code, name) VALUES (:t, 'bench')"),
            {"t": township},
        )
        session.execute(
            text(
                "CREATE TEMP TABLE _stage_bench_parcels (contract_no text,"
                " holder_code text, geom geometry, contract_area_mu numeric)"
                " ON COMMIT DROP"
            )
        )
        copy_frame(
            session,
            "_stage_bench_parcels",
            frame.rename_geometry("geom")[
                ["contract_no", "holder_code", "geom", "contract_area_mu"]
            ],
            geometry_columns=["geom"],
        )
        session.execute(
            text(
                "INSERT INTO households (township_code, code, head_name, geom)"
                " SELECT :t, holder_code, '户主' || holder_code,"
                "  ST_PointOnSurface(ST_Collect(geom))"
                " FROM _stage_bench_parcels GROUP BY holder_code"
            ),
            {"t": township},
        )
        session.execute(
            text(
                "INSERT INTO pasture_parcels (township_code, contract_no,"
                " holder_household_id, contract_area_mu, geom)"
                " SELECT :t, s.contract_no, h.id, s.contract_area_mu, s.geom"
                " FROM _stage_bench_parcels s JOIN households h"
                "  ON h.township_code = :t AND h.code = s.holder_code"
            ),
            {"t": township},
        )
    session.execute(text("ANALYZE pasture_parcels"))
    session.commit()
