"""Travelling-salesman solvers for visit routes: pure numpy, no database.

Node 0 is the start (a cadre's base, a village committee or any point); the other
nodes are the stops. Routes are *closed* (back to the start) or *open* (end at the
last stop). Up to ``EXACT_MAX_STOPS`` stops the optimum is computed exactly with a
vectorised Held–Karp dynamic programme; beyond that LKH (via elkai) runs with a time
limit and a Held–Karp 1-tree bound (subgradient ascent) says how far from the
optimum the tour can at most be.

An open route is solved as a closed tour on a matrix with one extra *dummy* node
that is free to reach from the start and costs ``C`` from every stop: the dummy then
sits between the start and the last stop, and tour length = path length + ``C``.
``C`` > the longest edge is enough (moving the start to one end of any other
Hamiltonian path costs at most one edge), so the transformation is exact.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

EARTH_RADIUS_M = 6_371_008.8
EXACT_MAX_STOPS = 14
FloatMatrix = NDArray[np.float64]


@dataclass(frozen=True)
class Tour:
    """An ordered visit of every node from node 0, with its length and quality."""

    order: list[int]  # node indices, starting with 0, without the return to 0
    length: float
    closed: bool
    method: str  # trivial | held-karp | lkh | nn-2opt
    lower_bound: float
    optimal: bool
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float:
        """Relative gap between the tour and the lower bound (0.0 when optimal)."""
        if self.optimal or self.length <= 0:
            return 0.0
        return max(self.length - self.lower_bound, 0.0) / self.length


def great_circle_matrix(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> FloatMatrix:
    """Haversine distances in metres between every pair of (lon, lat) points."""
    phi = np.radians(np.asarray(lat, dtype=float))
    lam = np.radians(np.asarray(lon, dtype=float))
    dphi = phi[:, None] - phi[None, :]
    dlam = lam[:, None] - lam[None, :]
    a = (
        np.sin(dphi / 2) ** 2
        + np.cos(phi)[:, None] * np.cos(phi)[None, :] * np.sin(dlam / 2) ** 2
    )
    out: FloatMatrix = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return out


def tour_length(dist: FloatMatrix, order: list[int], *, closed: bool) -> float:
    """Length of ``order`` under ``dist`` (with the return leg when closed)."""
    idx = np.asarray(order)
    total = float(dist[idx[:-1], idx[1:]].sum()) if len(idx) > 1 else 0.0
    if closed and len(idx) > 1:
        total += float(dist[idx[-1], idx[0]])
    return total


# -- exact: Held–Karp -----------------------------------------------------------------
@lru_cache(maxsize=EXACT_MAX_STOPS + 2)
def _layers(m: int) -> list[list[tuple[int, NDArray[np.int64], NDArray[np.int64]]]]:
    """For each subset size, for each last stop j: the masks holding j and mask - j."""
    masks = np.arange(1 << m, dtype=np.int64)
    popcount = np.zeros(1 << m, dtype=np.int64)
    for bit in range(m):
        popcount += (masks >> bit) & 1
    layers = []
    for size in range(2, m + 1):
        sized = masks[popcount == size]
        row = []
        for j in range(m):
            with_j = sized[(sized >> j) & 1 == 1]
            row.append((j, with_j, with_j ^ (1 << j)))
        layers.append(row)
    return layers


def held_karp(dist: FloatMatrix, *, closed: bool = True) -> Tour:
    """The exact optimum by dynamic programming over subsets (vectorised per layer)."""
    started = time.perf_counter()
    n = dist.shape[0]
    m = n - 1
    if m > EXACT_MAX_STOPS + 2:
        raise ValueError(
            f"Held–Karp is limited to {EXACT_MAX_STOPS + 2} stops, got {m}"
        )
    if m <= 1:
        order = list(range(n))
        length = tour_length(dist, order, closed=closed)
        return Tour(order, length, closed, "trivial", length, True)
    stops = dist[1:, 1:]
    dp = np.full((1 << m, m), np.inf)
    parent = np.zeros((1 << m, m), dtype=np.int8)
    singles = 1 << np.arange(m)
    dp[singles, np.arange(m)] = dist[0, 1:]
    for layer in _layers(m):
        for j, with_j, without_j in layer:
            cand = dp[without_j] + stops[:, j]
            best = cand.argmin(axis=1)
            dp[with_j, j] = cand[np.arange(len(best)), best]
            parent[with_j, j] = best
    full = (1 << m) - 1
    final = dp[full] + (dist[1:, 0] if closed else 0.0)
    last = int(final.argmin())
    path = []
    mask = full
    while mask:
        path.append(last + 1)
        prev = int(parent[mask, last])
        mask ^= 1 << last
        last = prev
    order = [0, *reversed(path)]
    length = float(final.min())
    return Tour(
        order, length, closed, "held-karp", length, True, time.perf_counter() - started
    )


# -- heuristics ---------------------------------------------------------------------
def _with_dummy(dist: FloatMatrix) -> tuple[FloatMatrix, float]:
    """The closed-tour matrix of an open route: dummy node n, free from the start."""
    n = dist.shape[0]
    penalty = 2.0 * float(dist.max()) + 1.0
    out = np.zeros((n + 1, n + 1))
    out[:n, :n] = dist
    out[n, 1:n] = out[1:n, n] = penalty
    return out, penalty


def _rotate_open(order: list[int], n: int) -> list[int]:
    """Turn a tour over the dummy-augmented matrix into the path start -> ... ."""
    start = order.index(0)
    tour = order[start:] + order[:start]
    if tour[1] == n:  # dummy right after the start: walk the tour backwards
        tour = [0, *reversed(tour[1:])]
    return [i for i in tour if i != n]


def _rotate_closed(order: list[int]) -> list[int]:
    start = order.index(0)
    return order[start:] + order[:start]


def _symmetric(dist: FloatMatrix) -> FloatMatrix:
    """A symmetric matrix (heuristics and bounds assume one; min keeps bounds valid)."""
    return np.minimum(dist, dist.T)


def lkh_order(dist: FloatMatrix, *, time_limit: float, runs: int = 1) -> list[int]:
    """A closed tour by LKH (elkai), on integer weights scaled for precision."""
    n = dist.shape[0]
    top = float(dist.max()) or 1.0
    scale = min(1.0e6 / top, 1000.0)
    weights = np.rint(dist * scale).astype(np.int64)
    params = (
        f"RUNS = {runs}\nPROBLEM_FILE = :stdin:\nTIME_LIMIT = {time_limit:.3f}\n"
        f"MAX_TRIALS = {max(min(n, 100), 10)}\nTRACE_LEVEL = 0\n"
    )
    problem = (
        f"TYPE : TSP\nDIMENSION : {n}\nEDGE_WEIGHT_TYPE : EXPLICIT\n"
        "EDGE_WEIGHT_FORMAT : FULL_MATRIX\nEDGE_WEIGHT_SECTION\n"
        + "\n".join(" ".join(map(str, row)) for row in weights.tolist())
        + "\nEOF\n"
    )
    return [i - 1 for i in run_lkh(params, problem)]


def run_lkh(params: str, problem: str) -> list[int]:
    """LKH on a TSPLIB ``problem`` with LKH ``params``: a tour of 1-based nodes.

    The one call into elkai's internals: its public ``DistanceMatrix.solve_tsp``
    takes only ``runs`` and the planner needs LKH's TIME_LIMIT, so this calls the
    C entry point that ``solve_tsp`` itself calls (elkai 2.0.x, pinned in
    pyproject). tests/grids/test_tsp.py fails if it moves or changes shape.
    """
    from elkai import _elkai

    solve = getattr(_elkai, "solve_problem", None)
    if solve is None:  # pragma: no cover - only when elkai changed under the pin
        raise RuntimeError("elkai._elkai.solve_problem is gone: check the elkai pin")
    return [int(i) for i in solve(params, problem)]


def nearest_neighbour_order(dist: FloatMatrix) -> list[int]:
    """Greedy tour from node 0: always walk to the nearest unvisited node."""
    n = dist.shape[0]
    visited = np.zeros(n, dtype=bool)
    order = [0]
    visited[0] = True
    for _ in range(n - 1):
        row = np.where(visited, np.inf, dist[order[-1]])
        nxt = int(row.argmin())
        order.append(nxt)
        visited[nxt] = True
    return order


def two_opt(dist: FloatMatrix, order: list[int]) -> list[int]:
    """Improve a closed tour by 2-opt moves until none shortens it (best per i)."""
    tour = np.asarray(order)
    n = len(tour)
    if n < 4:
        return list(tour)
    improved = True
    while improved:
        improved = False
        for i in range(n - 2):
            a, b = tour[i], tour[i + 1]
            c = tour[i + 2 :]
            d = np.roll(tour, -1)[i + 2 :]
            delta = dist[a, c] + dist[b, d] - dist[a, b] - dist[c, d]
            if i == 0:
                delta[-1] = 0.0  # the edge (last, first) shares node a
            k = int(delta.argmin())
            if delta[k] < -1e-9:
                j = i + 2 + k
                tour[i + 1 : j + 1] = tour[i + 1 : j + 1][::-1]
                improved = True
    return [int(x) for x in tour]


def held_karp_bound(
    dist: FloatMatrix, *, upper: float, iterations: int = 300, time_limit: float = 1.0
) -> float:
    """Held–Karp 1-tree lower bound on a closed tour, by subgradient ascent.

    Node 0 is the special node of the 1-tree; ``upper`` (a known tour length)
    sets the Polyak step. Any value returned is a valid lower bound.
    """
    sym = _symmetric(dist)
    n = sym.shape[0]
    if n < 3:
        return tour_length(sym, list(range(n)), closed=True)
    started = time.perf_counter()
    pi = np.zeros(n)
    best = -np.inf
    lam = 2.0
    stall = 0
    for _ in range(iterations):
        cost = sym + pi[:, None] + pi[None, :]
        value, degree = _one_tree(cost)
        value -= 2.0 * pi.sum()
        if value > best + 1e-9:
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 10:
                lam, stall = lam / 2.0, 0
        sub = degree - 2
        norm = float((sub * sub).sum())
        if norm == 0 or lam < 1e-6 or time.perf_counter() - started > time_limit:
            break
        pi += lam * (upper - value) / norm * sub
    return float(best)


def _one_tree(cost: FloatMatrix) -> tuple[float, NDArray[np.int64]]:
    """Minimum 1-tree: Prim's MST on nodes 1.. plus node 0's two cheapest edges."""
    n = cost.shape[0]
    degree = np.zeros(n, dtype=np.int64)
    in_tree = np.zeros(n, dtype=bool)
    in_tree[0] = True  # excluded from the MST
    in_tree[1] = True
    key = cost[1].copy()
    link = np.ones(n, dtype=np.int64)
    total = 0.0
    for _ in range(n - 2):
        masked = np.where(in_tree, np.inf, key)
        v = int(masked.argmin())
        total += float(masked[v])
        degree[v] += 1
        degree[link[v]] += 1
        in_tree[v] = True
        closer = cost[v] < key
        key = np.where(closer, cost[v], key)
        link = np.where(closer, v, link)
    two = np.argpartition(cost[0, 1:], 1)[:2] + 1
    total += float(cost[0, two].sum())
    degree[0] = 2
    degree[two] += 1
    return total, degree


def mst_length(dist: FloatMatrix) -> float:
    """Weight of a minimum spanning tree (Prim, vectorised per step)."""
    sym = _symmetric(dist)
    n = sym.shape[0]
    in_tree = np.zeros(n, dtype=bool)
    in_tree[0] = True
    key = sym[0].copy()
    total = 0.0
    for _ in range(n - 1):
        masked = np.where(in_tree, np.inf, key)
        v = int(masked.argmin())
        total += float(masked[v])
        in_tree[v] = True
        key = np.minimum(key, sym[v])
    return total


def solve_tour(
    dist: FloatMatrix,
    *,
    closed: bool = True,
    time_limit: float = 2.0,
    exact_max: int = EXACT_MAX_STOPS,
) -> Tour:
    """Best route from node 0 over every node: exact when small, LKH + bound beyond."""
    dist = np.asarray(dist, dtype=float)
    n = dist.shape[0]
    if dist.ndim != 2 or dist.shape[1] != n or n == 0:
        raise ValueError("distance matrix must be square and non-empty")
    if n - 1 <= exact_max:
        return held_karp(dist, closed=closed)
    started = time.perf_counter()
    work, penalty = (dist, 0.0) if closed else _with_dummy(_symmetric(dist))
    raw = lkh_order(work, time_limit=max(time_limit * 0.6, 0.05))
    order = _rotate_closed(raw) if closed else _rotate_open(raw, n)
    length = tour_length(dist, order, closed=closed)
    remaining = max(time_limit - (time.perf_counter() - started), 0.05)
    bound = (
        held_karp_bound(work, upper=length + penalty, time_limit=remaining) - penalty
    )
    bound = min(bound, length)
    return Tour(
        order,
        length,
        closed,
        "lkh",
        bound,
        length - bound <= 1e-6 * max(length, 1.0),
        time.perf_counter() - started,
    )


def baseline_tour(dist: FloatMatrix, *, closed: bool = True) -> Tour:
    """Nearest neighbour + 2-opt: the plain peer the benchmark compares against."""
    started = time.perf_counter()
    n = dist.shape[0]
    work = dist if closed else _with_dummy(_symmetric(dist))[0]
    raw = two_opt(work, nearest_neighbour_order(work))
    order = _rotate_closed(raw) if closed else _rotate_open(raw, n)
    length = tour_length(dist, order, closed=closed)
    return Tour(
        order, length, closed, "nn-2opt", 0.0, False, time.perf_counter() - started
    )
