"""Import 100 000 households from a GeoPackage: GridGIS vs a bare geopandas load.

GridGIS: ``layers.io.importing.import_file``: read, validate every feature, write,
then assign every household to its grid and cadre. A township's first import
COPYs into a new partition and builds its indexes once (``layers.io.first_load``);
later imports stage the rows and upsert (UPDATE + INSERT) through the parent.
Peer: ``geopandas.read_file`` + ``GeoDataFrame.to_postgis`` of the same file into a
fresh table, same server, same run. Both run on a scratch database made here.
Also timed: re-importing the same file (nothing changes), the file with every
household moved 50 m (all updated, all re-assigned), and 100 000 more households
into the now populated township.

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
from typing import Any

import numpy as np
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

import geopandas as gpd
import pyogrio
import shapely

from gis_service.core.db import make_engine
from gis_service.core.settings import get_settings
from grids.models import HOUSEHOLD_TAGS

TOWNSHIP = "620623101000"


def make_file(
    path: Path, n: int, seed: int = 7, *, first: int = 0, shift: float = 0.0
) -> None:
    """n plausible households around 102.5°E 37.1°N, as a GeoPackage.

    Codes start at ``first``; ``shift`` moves every household east (degrees).
    """
    rng = np.random.default_rng(seed)
    lon = np.round(102.5 + shift + rng.normal(0, 0.08, n), 7)
    lat = np.round(37.1 + rng.normal(0, 0.06, n), 7)
    tags = np.array(HOUSEHOLD_TAGS)
    draws = rng.random((n, 3)) < 0.08
    picks = rng.integers(0, len(tags), (n, 3))
    frame = gpd.GeoDataFrame(
        {
            "code": [f"HH{i:07d}" for i in range(first, first + n)],
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
    from gis_service.core.cli import database_url

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
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    import layers.io.importing as importing
    from tests.conftest import drop_database

    url = scratch_database(server_url(args.database_url))
    engine = make_engine(url)
    n = args.households
    townships = [f"{int(TOWNSHIP) + 1000 * k:012d}" for k in range(args.repeat)]
    assigning: list[float] = []
    hooks = importing.households_loaded, importing.households_moved

    def timed(hook: Any) -> Any:
        def run(*a: Any, **k: Any) -> None:
            t = time.perf_counter()
            hook(*a, **k)
            assigning.append(time.perf_counter() - t)

        return run

    importing.households_loaded, importing.households_moved = map(timed, hooks)
    peer: list[float] = []
    firsts: list[float] = []
    runs: dict[str, tuple[float, dict[str, Any], float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            files = {
                "first": Path(tmp) / "households.gpkg",
                "moved": Path(tmp) / "moved.gpkg",
                "more": Path(tmp) / "more.gpkg",
            }
            t = time.perf_counter()
            make_file(files["first"], n)
            make_file(files["moved"], n, shift=0.0006)  # ~53 m east
            make_file(files["more"], n, seed=8, first=n)
            size = files["first"].stat().st_size >> 20
            print(f"generated 3 x {n} households in "
                  f"{time.perf_counter() - t:.1f}s ({size} MB each)")  # fmt: skip
            with engine.begin() as conn:
                for code in townships:
                    conn.execute(
                        text("INSERT INTO townships (code, name) VALUES (:c, 'b')"),
                        {"c": code},
                    )
            with Session(engine) as session:
                for code in townships:  # alternate, so both see the same machine
                    t = time.perf_counter()
                    frame = gpd.read_file(files["first"])
                    frame.to_postgis(
                        f"peer_{uuid.uuid4().hex[:8]}", engine, if_exists="replace"
                    )
                    peer.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    importing.import_file(
                        session, township=code, layer="households", path=files["first"]
                    )
                    firsts.append(time.perf_counter() - t)
                for name, file in (
                    ("re-import, nothing changed", files["first"]),
                    ("re-import, every household moved", files["moved"]),
                    (f"{n} more into the township", files["more"]),
                ):
                    assigning.clear()
                    t = time.perf_counter()
                    report = importing.import_file(
                        session, township=townships[0], layer="households", path=file
                    )
                    runs[name] = (time.perf_counter() - t, report, sum(assigning))
    finally:
        engine.dispose()
        drop_database(make_url(url))
    counts = [
        (r["inserted"], r["updated"], r["unchanged"]) for _, r, _ in runs.values()
    ]
    assert counts == [(0, 0, n), (0, n, 0), (n, 0, 0)], counts
    p, f = float(np.median(peer)), float(np.median(firsts))
    print(f"median of {args.repeat}, each run alternating peer / ours:")
    print(f"peer  geopandas.read_file + to_postgis   : {p:6.2f}s  {n / p:9.0f}/s  "
          f"(runs {', '.join(f'{x:.2f}' for x in peer)})")  # fmt: skip
    print(f"ours  first import (new partition)       : {f:6.2f}s  {n / f:9.0f}/s  "
          f"ratio {f / p:4.2f}  (runs {', '.join(f'{x:.2f}' for x in firsts)}; "
          "includes assigning every household)")  # fmt: skip
    print("then, once, into the first township:")
    for name, (seconds, _, assign) in runs.items():
        print(
            f"ours  {name:35s}: {seconds:6.2f}s  {n / seconds:9.0f}/s  "
            f"ratio {seconds / p:4.2f}  (assignment {assign:.2f}s)"
        )
    print(
        "target (first import no slower than the peer): "
        f"{'met' if f <= p else 'NOT met'} ({f / p:.2f})"
    )


if __name__ == "__main__":
    main()
