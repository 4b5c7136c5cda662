"""A province on one PostGIS: load many townships through the import path, then time
one township's work while the others are present.

Generated per township (seeded): a core grid with a lattice of grid cells (grids of
~250 households), cadres of 13 households each, households spread over the township,
pasture parcels on a jittered lattice (a few overlapping their neighbours). Every
layer goes through ``layers.io.importing.import_file`` from a GeoPackage, as a
township office would load it (validation, first-load partition, assignment); then
two visits to ~80 % of the households are written in one statement.

Reported: load time and rows/s, database size; one township's assignment and
dispute detection with every other township present, against the same township
alone in a fresh database (partition pruning: target within 20 %); that township's
coverage list and coverage map latency; the province summary by county. Both
databases are ANALYZEd, and the two sides are timed in turns (medians), so a busy
machine weighs both alike; ``--keep`` keeps them for EXPLAIN.

    python bench/province.py [--townships 80] [--households 12500] [--parcels 2500]
                             [--keep]   (keep both databases, for EXPLAIN)

Full scale is ~800 townships x 12 500 households; the default is 1/10 of it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

import geopandas as gpd
import shapely

from alembic import command
from gis_service.core.cli import database_url
from gis_service.core.db import make_engine
from gis_service.core.settings import DisputeSettings, MapSettings
from grids.assignment.service import assign_households
from grids.visits.coverage import uncovered_households
from grids.visits.summary import county_summary
from layers.disputes.detect import detect_disputes
from layers.io.importing import import_file
from maps.service import coverage_data, coverage_page
from tests.conftest import alembic_config

SIZE = 0.25  # degrees: a township ~ 22 x 28 km at 37°N
COUNTIES = 20  # ~40 townships a county at full scale


def township_code(i: int) -> str:
    """A valid 12-digit code per township (province 62, county, township)."""
    return f"62{i // 40 + 1:02d}{i % 40 + 1:02d}{100 + i:03d}000"[:12]


def township_files(i: int, households: int, parcels: int, out: Path) -> dict[str, Path]:
    """Grids, cadres, households and parcels of township ``i`` as GeoPackages."""
    rng = np.random.default_rng(1000 + i)
    x0, y0 = 96.0 + (i % 40) * (SIZE + 0.01), 34.0 + (i // 40) * (SIZE + 0.01)
    cells = max(1, round(households / 250))
    nx = int(np.ceil(np.sqrt(cells)))
    ny = int(np.ceil(cells / nx))
    dx, dy = SIZE / nx, SIZE / ny
    boxes = [
        shapely.box(x0 + a * dx, y0 + b * dy, x0 + (a + 1) * dx, y0 + (b + 1) * dy)
        for b in range(ny)
        for a in range(nx)
    ]
    grid_codes = [f"G{k:04d}" for k in range(len(boxes))]
    grids = gpd.GeoDataFrame(
        {
            "code": ["CORE", *grid_codes],
            "name": ["核心", *[f"网格{k}" for k in range(len(boxes))]],
            "level": ["core", *["grid"] * len(boxes)],
            "parent_code": [None, *["CORE"] * len(boxes)],
        },
        geometry=[shapely.box(x0, y0, x0 + SIZE, y0 + SIZE), *boxes],
        crs=4326,
    )
    lon = x0 + rng.random(households) * SIZE
    lat = y0 + rng.random(households) * SIZE
    homes = gpd.GeoDataFrame(
        {
            "code": [f"H{k:06d}" for k in range(households)],
            "head_name": [f"户主{k}" for k in range(households)],
            "members": rng.integers(1, 7, households),
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )
    cell = np.minimum((lat - y0) // dy, ny - 1) * nx + np.minimum(
        (lon - x0) // dx, nx - 1
    )
    per_grid = np.bincount(cell.astype(int), minlength=len(boxes))
    cadre_grid = np.repeat(np.arange(len(boxes)), np.ceil(per_grid / 13).astype(int))
    cadres = gpd.GeoDataFrame(
        {
            "code": [f"C{k:05d}" for k in range(len(cadre_grid))],
            "name": [f"干部{k}" for k in range(len(cadre_grid))],
            "home_grid_code": [grid_codes[g] for g in cadre_grid],
            "capacity": 14,
        },
        geometry=[boxes[g].centroid for g in cadre_grid],
        crs=4326,
    )
    side = int(np.ceil(np.sqrt(parcels)))
    px, py = SIZE / side, SIZE / side
    grow = np.where(rng.random(side * side) < 0.03, 0.15, -0.001)  # 3 % overlap
    parcel_boxes = [
        shapely.box(
            x0 + a * px - grow[a + b * side] * px,
            y0 + b * py - grow[a + b * side] * py,
            x0 + (a + 1) * px + grow[a + b * side] * px,
            y0 + (b + 1) * py + grow[a + b * side] * py,
        )
        for b in range(side)
        for a in range(side)
    ][:parcels]
    holders = rng.integers(0, households, len(parcel_boxes))
    parcel_frame = gpd.GeoDataFrame(
        {
            "contract_no": [f"P{k:06d}" for k in range(len(parcel_boxes))],
            "holder_code": [f"H{h:06d}" for h in holders],
        },
        geometry=parcel_boxes,
        crs=4326,
    )
    files = {}
    for layer, frame in (
        ("grids", grids),
        ("cadres", cadres),
        ("households", homes),
        ("pasture_parcels", parcel_frame),
    ):
        path = out / f"{township_code(i)}_{layer}.gpkg"
        frame.to_file(path, driver="GPKG", engine="pyogrio")
        files[layer] = path
    return files


def load_township(session: Session, i: int, files: dict[str, Path]) -> int:
    """Create township ``i`` and import its four layers; rows written."""
    code = township_code(i)
    session.execute(
        text(
            "INSERT INTO townships (code, name, county) VALUES (:c, :n, :county) "
            "ON CONFLICT (code) DO NOTHING"
        ),
        {"c": code, "n": f"镇{i}", "county": f"县{i % COUNTIES:02d}"},
    )
    session.commit()
    rows = 0
    for layer, path in files.items():
        report = import_file(session, township=code, layer=layer, path=path)
        rows += int(report.get("inserted", 0)) + int(report.get("updated", 0))
    rows += session.execute(_VISITS, {"t": code, "seed": i}).rowcount
    session.commit()
    return rows


# Two visits to ~80 % of the assigned households over the last 150 days (seeded),
# so the coverage list, map and summary have visits to weigh.
_VISITS = text(
    """
    INSERT INTO visits (township_code, household_id, cadre_id, visited_at)
    SELECT h.township_code, h.id, h.cadre_id,
           now() - make_interval(secs => 150 * 86400 * r.x)
    FROM households_assigned h
    CROSS JOIN generate_series(1, 2) AS k
    CROSS JOIN LATERAL (SELECT (hashint8(h.id * 7 + k + :seed) & 65535) / 65536.0
                          AS x) r
    WHERE h.township_code = :t AND h.cadre_id IS NOT NULL
      AND (hashint8(h.id + :seed) & 1023) < 820
    """
)


def _seconds(fn: Callable[[Session], Any], session: Session) -> float:
    start = time.perf_counter()
    fn(session)
    return time.perf_counter() - start


def compare(
    among: Session, alone: Session, code: str, runs: int = 7
) -> dict[str, tuple[float, float]]:
    """One township's assignment, detection, coverage list and map: among all, alone.

    Medians of ``runs`` calls made in turns (among, alone, among, ...), so a busy
    machine weighs both sides alike.
    """
    thresholds = DisputeSettings()
    work: dict[str, Callable[[Session], Any]] = {
        "assign_s": lambda s: assign_households(s, township=code),
        "detect_s": lambda s: detect_disputes(s, township=code, thresholds=thresholds),
        "uncovered_list_s": lambda s: uncovered_households(s, township=code, limit=100),
        # the map's database part (what other townships could slow down) and
        # the whole page (plus Folium's rendering, the same work in both)
        "coverage_map_data_s": lambda s: coverage_data(s, township=code),
        "coverage_map_s": lambda s: coverage_page(
            s, township=code, settings=MapSettings()
        ),
    }
    medians = {}
    for key, fn in work.items():
        fn(among), fn(alone)  # warm both caches first
        pairs = [(_seconds(fn, among), _seconds(fn, alone)) for _ in range(runs)]
        medians[key] = (
            statistics.median(p[0] for p in pairs),
            statistics.median(p[1] for p in pairs),
        )
    return medians


def rerun(server: str, province_db: str, alone_db: str, *, probe: int) -> None:
    """Migrate two kept databases to head and compare the probe township again."""
    code = township_code(probe)
    sessions = []
    for name in (province_db, alone_db):
        url = make_url(server).set(database=name).render_as_string(False)
        migrate(url)
        sessions.append(Session(make_engine(url)))
    among, solo = sessions
    for db in sessions:
        db.execute(text("ANALYZE"))
        db.commit()
    households = among.execute(text("SELECT count(*) FROM households")).scalar()
    t0 = time.perf_counter()
    counties = county_summary(among)
    summary_s = time.perf_counter() - t0
    results = compare(among, solo, code)
    print(f"\n{province_db}: {households:,} households; alone: {alone_db}")
    report(code, results, summary_s, counties)


def report(
    code: str,
    results: dict[str, tuple[float, float]],
    summary_s: float,
    counties: list[dict[str, Any]],
) -> None:
    """The among-all / alone table and the province summary."""
    print(f"{'township ' + code:<28}{'among all':>12}{'alone':>10}{'ratio':>8}")
    for key, (value, by_itself) in results.items():
        print(f"{key:<28}{value:>12.3f}{by_itself:>10.3f}"
              f"{value / by_itself:>8.2f}")  # fmt: skip
    print(f"province summary ({len(counties)} counties): {summary_s:.2f} s")
    for row in counties[:3]:
        rates = f"coverage {row['coverage_rate']}, closure {row['closure_rate']}"
        print(f"  {row['county']}: {row['townships']} townships, {rates}")


def migrate(target: str) -> None:
    """Bring ``target`` to the head revision (the tests' alembic configuration)."""
    command.upgrade(alembic_config(make_url(target)), "head")


def scratch(server: str) -> str:
    """A fresh migrated database on ``server``; its URL."""
    url = make_url(server)
    name = f"gridgis_province_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url.set(database="postgres").render_as_string(False),
                        isolation_level="AUTOCOMMIT")  # fmt: skip
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    target = url.set(database=name).render_as_string(False)
    migrate(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--townships", type=int, default=80)
    parser.add_argument("--households", type=int, default=12_500)
    parser.add_argument("--parcels", type=int, default=2_500)
    parser.add_argument("--database-url")
    parser.add_argument(
        "--keep", action="store_true", help="keep both databases (for EXPLAIN)"
    )
    parser.add_argument(
        "--reuse", nargs=2, metavar=("PROVINCE_DB", "ALONE_DB"),
        help="time the township again in two kept databases (migrated to head "
             "first), without loading",
    )  # fmt: skip
    args = parser.parse_args()
    server = args.database_url or database_url()
    if args.reuse:
        return rerun(server, *args.reuse, probe=args.townships // 2)
    province = make_engine(scratch(server))
    alone = make_engine(scratch(server))
    probe = args.townships // 2
    with tempfile.TemporaryDirectory() as tmp, Session(province) as session:
        out = Path(tmp)
        started, rows, gen = time.perf_counter(), 0, 0.0
        for i in range(args.townships):
            g0 = time.perf_counter()
            files = township_files(i, args.households, args.parcels, out)
            gen += time.perf_counter() - g0
            rows += load_township(session, i, files)
            for path in files.values():
                path.unlink()
            if (i + 1) % 10 == 0:
                print(f"  loaded {i + 1}/{args.townships} townships", flush=True)
        load_s = time.perf_counter() - started - gen
        size = session.execute(
            text("SELECT pg_size_pretty(pg_database_size(current_database()))")
        ).scalar()
        code = township_code(probe)
        t0 = time.perf_counter()
        counties = county_summary(session)
        summary_s = time.perf_counter() - t0
        with Session(alone) as solo:
            load_township(solo, probe, township_files(probe, args.households,
                                                      args.parcels, out))  # fmt: skip
            for db in (session, solo):  # as autovacuum would have by now
                db.execute(text("ANALYZE"))
                db.commit()
            results = compare(session, solo, code)
    print(f"\n{args.townships} townships x {args.households} households, "
          f"{args.parcels} parcels each")  # fmt: skip
    print(f"load (import path, generation excluded): {load_s:.1f} s, "
          f"{rows / load_s:,.0f} rows/s, {rows:,} rows; database {size}")  # fmt: skip
    report(code, results, summary_s, counties)
    for engine in (province, alone):
        name = engine.url.database
        if args.keep:
            print(f"kept: {engine.url.render_as_string(False)}")
            continue
        engine.dispose()
        maintenance = make_url(server).set(database="postgres")
        admin = make_engine(
            maintenance.render_as_string(False), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
