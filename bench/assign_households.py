"""Benchmark: households -> grids through the service, against sjoin and STRtree.

Builds a scratch database (migrated), 10 000 square grids and 1 000 000 random
households (0.5% outside every grid), then times in one process on the same data:

  * bare ``shapely.STRtree(grids).query(points, predicate="intersects")``
  * ``geopandas.sjoin(points, grids, predicate="within")``
  * ``grids.assignment.service.assign_households`` (binary COPY read, vectorised locate,
    cadre step, stored in ``household_assignments``, commit): cold (every
    household unassigned: the township's partition is rebuilt and swapped in)
    and warm (after 1% of households moved: the changed rows are upserted)
  * the plan alone (read + locate + cadre step, nothing written)

each ``--repeat`` times (default 3), printing the medians.

Usage: python bench/assign_households.py [--households N] [--grids N] [--repeat N]
       [--database-url URL]  (default: GRIDGIS_TEST_DATABASE_URL or GridGIS's own)
"""

from __future__ import annotations

import argparse
import math
import os
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
from alembic.config import Config
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

import geopandas as gpd
import shapely

from alembic import command
from gis_service.core.bulk import copy_frame
from gis_service.core.db import make_engine
from grids.assignment.planning import plan_assignment
from grids.assignment.service import assign_households
from grids.assignment.store import drop_partition

ROOT = Path(__file__).resolve().parent.parent
BARE = "bare STRtree.query (build + query)"
TOWNSHIP = "620623101000"
X0, Y0, EXTENT = 102.0, 37.0, 1.0  # degrees


def make_data(n_households: int, n_grids: int, seed: int = 7) -> tuple:
    """Square grids on a lattice (densified edges) and uniform random points."""
    side = math.isqrt(n_grids)
    step = EXTENT / side
    i, j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    x0, y0 = X0 + i.ravel() * step, Y0 + j.ravel() * step
    boxes = shapely.box(x0, y0, x0 + step, y0 + step)
    grids = shapely.segmentize(boxes, step / 10)  # 40 vertices: closer to real outlines
    rng = np.random.default_rng(seed)
    margin = EXTENT * 0.0025  # a thin band outside: ~0.5% of points in no grid
    lon = rng.uniform(X0 - margin, X0 + EXTENT + margin, n_households)
    lat = rng.uniform(Y0 - margin, Y0 + EXTENT + margin, n_households)
    points = shapely.points(np.round(lon, 7), np.round(lat, 7))
    return grids, points


def create_database(server_url: str) -> str:
    """A fresh database on the server, built by the migrations."""
    server = make_url(server_url)
    name = f"gridgis_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = server.set(database=name).render_as_string(hide_password=False)
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    return url


def drop_database(url: str) -> None:
    """Drop the scratch database."""
    u = make_url(url)
    admin = make_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
    admin.dispose()


def load(url: str, grids: np.ndarray, points: np.ndarray) -> None:
    """COPY the grids and households in (not timed)."""
    engine = make_engine(url)
    with Session(engine) as session:
        session.execute(
            text("INSERT INTO townships (code, name) VALUES (:t, 'bench')"),
            {"t": TOWNSHIP},
        )
        codes = [f"G{k:05d}" for k in range(len(grids))]
        frame = gpd.GeoDataFrame(
            {
                "township_code": TOWNSHIP,
                "code": codes,
                "name": codes,
                "level": "grid",
                "path": "/",
            },
            geometry=shapely.multipolygons(shapely.get_parts(grids)[:, None]),
        ).rename_geometry("geom")
        copy_frame(session, "grids", frame, geometry_columns=["geom"])
        session.execute(
            text("UPDATE grids SET path = '/' || id || '/' WHERE township_code = :t"),
            {"t": TOWNSHIP},
        )
        hh = gpd.GeoDataFrame(
            {
                "township_code": TOWNSHIP,
                "code": [f"H{k:07d}" for k in range(len(points))],
                "head_name": "x",
            },
            geometry=points,
        ).rename_geometry("geom")
        copy_frame(session, "households", hh, geometry_columns=["geom"])
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE grids"))
        conn.execute(text("VACUUM ANALYZE households"))
    engine.dispose()


def timed(label: str, fn, results: dict[str, float]):  # type: ignore[no-untyped-def]
    """Run fn, record and print its wall time."""
    start = time.perf_counter()
    out = fn()
    results[label] = time.perf_counter() - start
    print(f"{label:<44} {results[label]:8.2f} s", flush=True)
    return out


def main() -> None:
    """Run every contender on the same data and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs (median shown)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "GRIDGIS_BENCH_DATABASE_URL", os.environ.get("GRIDGIS_TEST_DATABASE_URL")
        ),
    )
    args = parser.parse_args()
    server = args.database_url
    if not server:
        from gis_service.core.cli import database_url

        server = database_url()
    grids, points = make_data(args.households, args.grids)
    print(
        f"{len(points):,} households, {len(grids):,} grids; load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    url = create_database(server)
    runs: list[dict[str, float]] = []
    try:
        setup: dict[str, float] = {}
        timed(
            "setup: COPY grids + households (not compared)",
            lambda: load(url, grids, points),
            setup,
        )
        engine = make_engine(url)
        for run in range(1, args.repeat + 1):
            print(f"-- run {run} (load average {os.getloadavg()[0]:.2f})")
            runs.append(_run(engine, grids, points))
        engine.dispose()
    finally:
        drop_database(url)
    _report(runs)


def _run(engine, grids: np.ndarray, points: np.ndarray) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Every contender once on the same data; the service starts cold."""
    r: dict[str, float] = {}

    def bare() -> int:
        tree = shapely.STRtree(grids)
        return len(tree.query(points, predicate="intersects")[0])

    timed(BARE, bare, r)
    pts = gpd.GeoDataFrame(geometry=points, crs=4326)
    polys = gpd.GeoDataFrame({"code": np.arange(len(grids))}, geometry=grids, crs=4326)
    timed(
        "geopandas.sjoin(within)", lambda: gpd.sjoin(pts, polys, predicate="within"), r
    )
    with Session(engine) as session:
        drop_partition(session, township=TOWNSHIP)  # every household unassigned
        session.commit()
        cold = timed(
            "service cold: assign_households (all written)",
            lambda: assign_households(session, township=TOWNSHIP),
            r,
        )
        print(
            f"   in grid {cold.in_grid:,}, outside {cold.outside_every_grid:,}, "
            f"rows written {cold.rows_written:,}"
        )
        moved = session.execute(
            text(
                "UPDATE households SET geom = ST_Translate(geom, 0.003, 0.002) "
                "WHERE township_code = :t AND id % 100 = 0"
            ),
            {"t": TOWNSHIP},
        ).rowcount  # type: ignore[attr-defined]
        session.commit()
        warm = timed(
            f"service warm: after moving {moved:,} households",
            lambda: assign_households(session, township=TOWNSHIP),
            r,
        )
        print(
            f"   grid changed {warm.grid_changed:,}, rows written {warm.rows_written:,}"
        )
        timed(
            "service plan only (read + locate + cadres)",
            lambda: plan_assignment(session, township=TOWNSHIP),
            r,
        )
        session.rollback()
    return r


def _report(runs: list[dict[str, float]]) -> None:
    """Median of each contender over the runs, and its median ratio to the peer."""
    frame = pd.DataFrame(runs)
    ratios = frame.div(frame[BARE], axis=0)
    print(f"\nmedian of {len(runs)} runs; ratio to {BARE} (service target: <= 5x)")
    for label in frame.columns:
        print(
            f"{label:<44} {frame[label].median():8.2f} s {ratios[label].median():6.2f}x"
            f"   (runs: {', '.join(f'{v:.2f}' for v in frame[label])})"
        )
    print(frame.median().round(2).to_json())


if __name__ == "__main__":
    main()
