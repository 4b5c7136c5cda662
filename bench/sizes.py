"""Benchmark: peak memory and time of ``demo load`` and ``assign`` as townships grow.

Each step runs the real command line in its own process (``gridgis demo load
--households N``, then ``gridgis assign`` on that township) against a scratch
database, and reads the child's peak RSS from ``os.wait4``. Printed as a table with
the growth factor from one size to the next (time and memory should grow about as
the households do: linear). Targets (issue 12): demo load at 100 000 under 2 GB and
60 s; a 30 000-household township (~2 300 cadres) assigned in at most 3 s.

Usage: python bench/sizes.py [--sizes 10000,30000,50000,100000]
       [--database-url URL]  (default: GRIDGIS_TEST_DATABASE_URL or GridGIS's own)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.assign_households import create_database, drop_database

TOWNSHIP = "620623101000"  # the demo's
GRIDGIS = str(Path(sys.executable).with_name("gridgis"))


def run(args: list[str], url: str) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of one ``gridgis`` process."""
    env = {**os.environ, "GRIDGIS_DATABASE_URL": url}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen([GRIDGIS, *args], env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode:
            raise SystemExit(f"gridgis {args} failed: {err.read().decode()[-800:]}")
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


def main() -> None:
    """Every size in turn on a fresh scratch database; the table at the end."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,30000,50000,100000")
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
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        url = create_database(server)
        try:
            load_s, load_mb, out = run(["demo", "load", "--households", str(n),
                                        "--json"], url)  # fmt: skip
            counts = json.loads(out)
            assign_s, assign_mb, out = run(["assign", "-t", TOWNSHIP, "--json"], url)
            summary = json.loads(out)
        finally:
            drop_database(url)
        rows.append({
            "households": n, "grids": counts["grids"], "cadres": counts["cadres"],
            "load_s": load_s, "load_mb": load_mb, "assign_s": assign_s,
            "assign_mb": assign_mb, "assign_service_s": summary["seconds"],
            "objective": summary["optimiser"]["objective"],
            "greedy": summary["greedy_baseline"]["objective"],
        })  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    _table(rows)


def _table(rows: list[dict[str, float]]) -> None:
    """The table, with each row's growth over the previous size."""
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    head = ("households", "grids", "cadres", "demo load s", "MB", "assign s",
            "(service s)", "MB", "growth: hh", "load s", "MB", "assign s",
            "MB")  # fmt: skip
    print(" | ".join(head))
    prev = None
    for r in rows:
        cells = [f"{r['households']:,}", str(r["grids"]), str(r["cadres"]),
                 f"{r['load_s']:.1f}", f"{r['load_mb']:.0f}", f"{r['assign_s']:.1f}",
                 f"({r['assign_service_s']:.2f})", f"{r['assign_mb']:.0f}"]  # fmt: skip
        if prev is None:
            cells += ["", "", "", "", ""]
        else:
            keys = ("households", "load_s", "load_mb", "assign_s", "assign_mb")
            cells += [f"x{r[k] / prev[k]:.1f}" for k in keys]
        print(" | ".join(cells))
        prev = r


if __name__ == "__main__":
    main()
