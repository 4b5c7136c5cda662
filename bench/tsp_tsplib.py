"""TSPLIB benchmark of grids.routing.tsp vs nearest neighbour + 2-opt (same process).

Instances with published optima (eil51 ... a280, copied from ../shared/data/tsplib into
bench/tsplib/; the originals are used when present). Distances follow TSPLIB rounding:
EUC_2D is nint(euclidean), GEO the TSPLIB geographical distance. Reports the tour
length, gap to the optimum, the solver's own lower bound and the time per solve, then
times Held–Karp on 14 stops (random points and burma14).

    PYTHONPATH=. .venv/bin/python bench/tsp_tsplib.py [--time-limit 2.0] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from grids.routing.tsp import baseline_tour, held_karp, solve_tour, tour_length

HERE = Path(__file__).resolve().parent
SOURCES = (HERE.parent.parent / "shared" / "data" / "tsplib", HERE / "tsplib")
INSTANCES = ("eil51", "berlin52", "st70", "kroA100", "ch150", "a280")


def data_dir() -> Path:
    """The TSPLIB folder: ../shared/data/tsplib or the copy in bench/tsplib."""
    for folder in SOURCES:
        if (folder / "README.md").exists():
            return folder
    sys.exit(
        "TSPLIB data not found: expected "
        + " or ".join(str(s) for s in SOURCES)
        + " (eil51.tsp ... a280.tsp and README.md with the optima)"
    )


def optima(folder: Path) -> dict[str, int]:
    """Published optimal lengths from the README table."""
    table = re.findall(
        r"^\|\s*(\w+)\s*\|\s*\d+\s*\|\s*(\d+)\s*\|",
        (folder / "README.md").read_text(),
        re.M,
    )
    return {name: int(value) for name, value in table}


def read_tsplib(path: Path) -> tuple[str, np.ndarray]:
    """EDGE_WEIGHT_TYPE and the node coordinates of a TSPLIB file."""
    kind, coords, in_section = "", [], False
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("EDGE_WEIGHT_TYPE"):
            kind = line.split(":")[1].strip()
        elif line.startswith("NODE_COORD_SECTION"):
            in_section = True
        elif in_section and line and line != "EOF":
            _, x, y = line.split()[:3]
            coords.append((float(x), float(y)))
        elif line == "EOF":
            break
    return kind, np.array(coords)


def tsplib_matrix(kind: str, xy: np.ndarray) -> np.ndarray:
    """Integer distances with TSPLIB's rounding (nint for EUC_2D; GEO's own formula)."""
    if kind == "EUC_2D":
        diff = xy[:, None, :] - xy[None, :, :]
        return np.floor(np.sqrt((diff**2).sum(-1)) + 0.5)
    if kind == "GEO":
        deg = np.trunc(xy)
        rad = math.pi * (deg + 5.0 * (xy - deg) / 3.0) / 180.0
        lat, lon = rad[:, 0], rad[:, 1]
        q1 = np.cos(lon[:, None] - lon[None, :])
        q2 = np.cos(lat[:, None] - lat[None, :])
        q3 = np.cos(lat[:, None] + lat[None, :])
        d = np.floor(
            6378.388 * np.arccos(np.clip(0.5 * ((1 + q1) * q2 - (1 - q1) * q3), -1, 1))
            + 1.0
        )
        np.fill_diagonal(d, 0)
        return d
    raise ValueError(f"unsupported EDGE_WEIGHT_TYPE {kind}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--time-limit", type=float, default=2.0, help="seconds per solve"
    )
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    folder = data_dir()
    best = optima(folder)
    print(f"data: {folder}")
    header = (
        f"{'instance':<9}{'n':>5}{'optimum':>9} | {'grids.routing.tsp':>9}{'gap%':>7}"
        f"{'bound gap%':>11}{'s/solve':>9} | {'nn+2opt':>8}{'gap%':>7}{'s/solve':>9}"
        " | ratio"
    )
    print(header)
    print("-" * len(header))
    ours_gaps, base_gaps = [], []
    for name in INSTANCES:
        kind, xy = read_tsplib(folder / f"{name}.tsp")
        dist = tsplib_matrix(kind, xy)
        opt = best[name]
        times, tour = [], None
        for _ in range(args.repeat):
            started = time.perf_counter()
            tour = solve_tour(dist, closed=True, time_limit=args.time_limit)
            times.append(time.perf_counter() - started)
        assert tour is not None and sorted(tour.order) == list(range(len(xy)))
        started = time.perf_counter()
        base = baseline_tour(dist, closed=True)
        base_time = time.perf_counter() - started
        gap = 100 * (tour.length - opt) / opt
        bgap = 100 * (base.length - opt) / opt
        ours_gaps.append(gap)
        base_gaps.append(bgap)
        print(
            f"{name:<9}{len(xy):>5}{opt:>9} | {tour.length:>9.0f}{gap:>7.2f}"
            f"{100 * tour.gap:>11.2f}{statistics.median(times):>9.3f}"
            f" | {base.length:>8.0f}"
            f"{bgap:>7.2f}{base_time:>9.3f} | {base.length / tour.length:.3f}"
        )
    print(
        f"mean gap to optimum: grids.routing.tsp {statistics.mean(ours_gaps):.2f}% "
        f"vs nn+2opt {statistics.mean(base_gaps):.2f}%"
    )

    rng = np.random.default_rng(14)
    pts = rng.random((15, 2)) * 5000
    dist = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))
    held_karp(dist)  # warm the layer cache
    runs = []
    for _ in range(20):
        started = time.perf_counter()
        exact = held_karp(dist)
        runs.append(time.perf_counter() - started)
    base = baseline_tour(dist)
    print(
        "Held–Karp, start + 14 stops (random): "
        f"median {1000 * statistics.median(runs):.1f} ms,"
        f" max {1000 * max(runs):.1f} ms;"
        f" optimum {exact.length:.0f} vs nn+2opt {base.length:.0f}"
    )
    kind, xy = read_tsplib(folder / "burma14.tsp")
    dist = tsplib_matrix(kind, xy)
    started = time.perf_counter()
    exact = held_karp(dist)
    elapsed = time.perf_counter() - started
    assert exact.length == tour_length(dist, exact.order, closed=True)
    print(
        f"Held–Karp burma14 (GEO, 13 stops): {exact.length:.0f} "
        f"(published {best['burma14']}), {1000 * elapsed:.1f} ms"
    )


if __name__ == "__main__":
    main()
