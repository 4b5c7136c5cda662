"""Import 100 000 households from a GeoPackage: GridGIS vs a bare geopandas load.

GridGIS: ``layers.importing.import_file`` (read, validate every feature, COPY into
staging, SQL checks, the upsert (UPDATE + INSERT) into the indexed, constrained
households table).
Peer: ``geopandas.read_file`` + ``GeoDataFrame.to_postgis`` of the same file into a
fresh table, same server, same run. Both run on a scratch database made here.

    python bench/import_households.py [--households 100000] [--database-url URL]

The server is ``--database-url`` > GRIDGIS_TEST_DATABASE_URL > GRIDGIS_DATABASE_URL >
the embedded cluster.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import event, make_url, text
from sqlalchemy.orm import Session

import geopandas as gpd
import pyogrio
import shapely

from gis_service.db import make_engine
from gis_service.settings import get_settings
from grids.models import HOUSEHOLD_TAGS

TOWNSHIP = "620623101000"
UPSERT = ("WITH w AS (UPDATE households", "WITH w AS (INSERT INTO households")


def make_file(path: Path, n: int, seed: int = 7) -> None:
    """n plausible households around 102.5°E 37.1°N, as a GeoPackage."""
    rng = np.random.default_rng(seed)
    lon = np.round(102.5 + rng.normal(0, 0.08, n), 7)
    lat = np.round(37.1 + rng.normal(0, 0.06, n), 7)
    tags = np.array(HOUSEHOLD_TAGS)
    draws = rng.random((n, 3)) < 0.08
    picks = rng.integers(0, len(tags), (n, 3))
    frame = gpd.GeoDataFrame(
        {
            "code": [f"HH{i:07d}" for i in range(n)],
            "head_name": [f"户主{i}" for i in range(n)],
            "members": rng.integers(1, 8, n),
            "village": rng.choice(["南泥沟村", "永丰滩村", "代乾村", "旦马村"], n),
            "tags": [
                ",".join(dict.fromkeys(tags[p[d]]))
                for p, d in zip(picks, draws, strict=True)
            ],
            "id_number": [f"620623{19500101 + i % 500000:08d}{i % 10000:04d}"
                          for i in range(n)],
            "phone": [f"138{i:08d}" for i in range(n)],
        },
        geometry=shapely.points(lon, lat),
        crs=4326,
    )  # fmt: skip
    pyogrio.write_dataframe(frame, path, layer="households", driver="GPKG")


def server_url(given: str | None) -> str:
    url = given or os.environ.get("GRIDGIS_TEST_DATABASE_URL")
    if url:
        return url
    from gis_service.cli import database_url

    return database_url(get_settings())


def scratch_database(server: str) -> str:
    from alembic import command
    from tests.conftest import alembic_config, create_database

    url = create_database(make_url(server), prefix="gridgis_bench")
    command.upgrade(alembic_config(url), "head")
    return url.render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    from layers.importing import import_file
    from tests.conftest import drop_database

    url = scratch_database(server_url(args.database_url))
    engine = make_engine(url)
    upsert_seconds: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _stop(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
        if statement.startswith(UPSERT):
            upsert_seconds.append(time.perf_counter() - conn.info["t0"])

    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "households.gpkg"
            t = time.perf_counter()
            make_file(path, args.households)
            print(
                f"generated {args.households} households in "
                f"{time.perf_counter() - t:.1f}s ({path.stat().st_size >> 20} MB)"
            )
            with engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO townships (code, name) VALUES (:c, 'bench')"),
                    {"c": TOWNSHIP},
                )

            t = time.perf_counter()
            frame = gpd.read_file(path)
            frame.to_postgis(
                f"peer_{uuid.uuid4().hex[:8]}", engine, if_exists="replace"
            )
            peer = time.perf_counter() - t

            with Session(engine) as session:
                t = time.perf_counter()
                first = import_file(
                    session, township=TOWNSHIP, layer="households", path=path
                )
                ours = time.perf_counter() - t
                t = time.perf_counter()
                again = import_file(
                    session, township=TOWNSHIP, layer="households", path=path
                )
                reimport = time.perf_counter() - t
    finally:
        engine.dispose()
        drop_database(make_url(url))
    n = args.households
    assert first["inserted"] == n and again["unchanged"] == n, (first, again)
    print(f"peer  geopandas.read_file + to_postgis : {peer:6.2f}s  {n / peer:9.0f}/s")
    print(f"ours  gridgis import (validate+upsert) : {ours:6.2f}s  {n / ours:9.0f}/s")
    print(
        f"      of which the UPDATE + INSERT into households "
        f"(4 indexes, the township FK): {sum(upsert_seconds[:2]):.2f}s"
    )
    print(
        f"ours  re-import, all unchanged         : {reimport:6.2f}s  "
        f"{n / reimport:9.0f}/s"
    )
    print(
        f"ratio ours/peer (first import) = {ours / peer:.2f}  "
        f"({'OK: no slower' if ours <= peer else 'SLOWER than the bare load'})"
    )


if __name__ == "__main__":
    main()
