"""The household -> cadre network, solved grid by grid, and its duals.

Households only ever reach their own grid's cadres, so every grid is an independent
min-cost flow (hundreds of small networks solve far faster than one for the whole
township). From each optimal flow come node potentials, which price the arcs the
sparse network left out (``priced_arcs``): an arc with a negative reduced cost
could lower the optimum, none means the sparse optimum is the dense one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

logger = logging.getLogger(__name__)

KEEP_BONUS_M = 300
SPREAD_PENALTY_M = 2_000
UNASSIGNED_COST = 10_000_000
NO_CADRE = -1
GRID_APART_M = 1e9  # grids set this far apart on a third axis: one KD-tree for all

Pairs = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]


@dataclass(frozen=True)
class Flow:
    """A solved network: cadre per household, its cost, and the node potentials."""

    assigned: npt.NDArray[np.int64]
    cost: int
    potential: npt.NDArray[np.float64]  # households, then k cadre and k prio nodes
    grid_costs: dict[int, int]


def solve(
    n: int,
    k: int,
    movable: npt.NDArray[np.int64],
    priority: npt.NDArray[np.bool_],
    capacity: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    grid: npt.NDArray[np.int64],
    grid_of_c: npt.NDArray[np.int64],
    arcs: tuple[npt.NDArray[Any], ...],
    previous: Flow | None = None,
    only: npt.NDArray[np.int64] | None = None,
) -> Flow:
    """Solve grid by grid (arcs never leave a grid): small networks solve fast."""
    pair_h, pair_c, pair_d, keep = arcs
    cost = np.rint(pair_d).astype(np.int64) + np.where(keep, 0, KEEP_BONUS_M)
    if previous is None or only is None:
        assigned = np.full(n, NO_CADRE, dtype=np.int64)
        potential = np.zeros(n + 2 * k)
        costs: dict[int, int] = {}
    else:  # only these grids got new arcs: the others keep their solution
        assigned = previous.assigned.copy()
        potential = previous.potential.copy()
        costs = dict(previous.grid_costs)
    by_arc = np.argsort(grid[pair_h], kind="stable")
    arc_grid = grid[pair_h][by_arc]
    hs_all = movable[np.argsort(grid[movable], kind="stable")]
    h_grid = grid[hs_all]
    cs_all = np.argsort(grid_of_c, kind="stable")
    c_grid = grid_of_c[cs_all]
    for g in np.unique(arc_grid) if only is None else only:
        sl = slice(*np.searchsorted(arc_grid, [g, g + 1]))
        hs = np.sort(hs_all[slice(*np.searchsorted(h_grid, [g, g + 1]))])
        cs = np.sort(cs_all[slice(*np.searchsorted(c_grid, [g, g + 1]))])
        a = by_arc[sl]
        local = (
            np.searchsorted(hs, pair_h[a]),
            np.searchsorted(cs, pair_c[a]),
            cost[a],
        )
        out, flow_cost, pot = _solve_grid(
            local, priority[hs], capacity[0][cs], capacity[1][cs]
        )
        assigned[hs] = np.where(out >= 0, cs[np.maximum(out, 0)], NO_CADRE)
        costs[int(g)] = flow_cost
        m, kc = len(hs), len(cs)
        potential[hs] = pot[:m]
        potential[n + cs] = pot[m : m + kc]
        potential[n + k + cs] = pot[m + kc : m + 2 * kc]
    logger.info("cadre flow: %d households, %d cadres, %d arcs", len(movable), k,
                len(pair_h))  # fmt: skip
    return Flow(assigned, sum(costs.values()), potential, costs)


def _solve_grid(
    arcs: tuple[npt.NDArray[np.int64], ...],
    priority: npt.NDArray[np.bool_],
    room: npt.NDArray[np.int64],
    fair_room: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], int, npt.NDArray[np.float64]]:
    """One grid's network (households 0..m-1, cadres 0..k-1), built with array calls.

    Returns the cadre per household (-1: none), the cost and the node potentials.
    """
    # OR-Tools takes ~0.3 s to load: only a run that plans cadres pays for it, not
    # every importer or CLI command that merely imports the assignment service.
    from ortools.graph.python import min_cost_flow

    pair_h, pair_c, cost = arcs
    m, k = len(priority), len(room)
    cadre_node = m + np.arange(k)
    prio_node = m + k + np.arange(k)
    overflow, sink = m + 2 * k, m + 2 * k + 1
    to_cadre = np.where(priority[pair_h], prio_node[pair_c], cadre_node[pair_c])
    households = np.arange(m)
    unassigned = np.where(priority, 2 * UNASSIGNED_COST, UNASSIGNED_COST)
    zeros = np.zeros(k, np.int64)
    blocks = [  # (tails, heads, capacities, unit costs)
        (pair_h, to_cadre, np.ones(len(pair_h), np.int64), cost),
        (prio_node, cadre_node, fair_room, zeros),
        (prio_node, cadre_node, room, np.full(k, SPREAD_PENALTY_M)),
        (cadre_node, np.full(k, sink), room, zeros),
        (households, np.full(m, overflow), np.ones(m, np.int64), unassigned),
        (np.array([overflow]), np.array([sink]), np.array([m]), np.array([0])),
    ]
    tails, heads, caps, costs = (
        np.concatenate([b[i] for b in blocks]).astype(np.int64) for i in range(4)
    )
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(m + 2 * k + 2, dtype=np.int64)
    supplies[:m] = 1
    supplies[sink] = -m
    smcf.set_nodes_supplies(np.arange(len(supplies)), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    flows = smcf.flows(np.arange(len(tails)))
    out = np.full(m, NO_CADRE, dtype=np.int64)
    used = flows[: len(pair_h)] > 0
    out[pair_h[used]] = pair_c[used]
    potential = _potentials(m, k, tails, heads, caps, costs, flows)
    return out, int(smcf.optimal_cost()), potential


def _potentials(
    n: int,
    k: int,
    tails: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int64],
    caps: npt.NDArray[np.int64],
    costs: npt.NDArray[np.int64],
    flows: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Shortest-path potentials on the optimal flow's residual network.

    A household has one residual arc in (the reverse of the arc it uses), so its
    other arcs become arcs between the 2k + 2 collector nodes and Bellman-Ford runs
    on those alone; a household's potential follows from its used arc.
    """
    hh_arc = tails < n
    used = hh_arc & (flows > 0)
    via = np.full(n, -1, np.int64)
    via_cost = np.zeros(n, np.int64)
    via[tails[used]] = heads[used] - n
    via_cost[tails[used]] = costs[used]
    free = hh_arc & ~used & (via[np.minimum(tails, n - 1)] >= 0)
    u = [via[tails[free]], tails[~hh_arc & (flows < caps)] - n]
    v = [heads[free] - n, heads[~hh_arc & (flows < caps)] - n]
    w = [costs[free] - via_cost[tails[free]], costs[~hh_arc & (flows < caps)]]
    back = ~hh_arc & (flows > 0)
    u.append(heads[back] - n)
    v.append(tails[back] - n)
    w.append(-costs[back])
    uu, vv = np.concatenate(u), np.concatenate(v)
    ww = np.concatenate(w).astype(float)
    d = np.zeros(2 * k + 2)
    for _ in range(2 * k + 3):
        new = d.copy()
        np.minimum.at(new, vv, d[uu] + ww)
        if np.array_equal(new, d):
            break
        d = new
    out = np.zeros(n + 2 * k + 2)
    out[n:] = d
    has = via >= 0
    out[:n][has] = d[via[has]] - via_cost[has]
    return out


def priced_arcs(
    flow: Flow,
    movable: npt.NDArray[np.int64],
    priority: npt.NDArray[np.bool_],
    where: tuple[npt.NDArray[Any], ...],
    reach: npt.NDArray[np.float64],
) -> Pairs:
    """Left-out arcs with a negative reduced cost: they could lower the optimum.

    None means the sparse optimum is the dense one. Such an arc costs at least its
    distance plus KEEP_BONUS_M (the current cadre's arc is always in), so only
    cadres within a radius set by the potentials need looking at (a ball query),
    and only for households whose radius passes their ``reach`` (every cadre
    nearer than that already has an arc).
    """
    xy, grid, base, grid_of_c, _ = where
    n = len(grid)
    k = len(grid_of_c)
    pot = flow.potential
    d_cadre, d_prio = pot[n : n + k], pot[n + k : n + 2 * k]
    best_c = pd.Series(d_cadre).groupby(grid_of_c).max()
    best_p = pd.Series(d_prio).groupby(grid_of_c).max()
    g = grid[movable]
    best = np.where(
        priority[movable],
        best_p.reindex(g).to_numpy(),
        best_c.reindex(g).to_numpy(),
    )
    radius = best - pot[movable] - KEEP_BONUS_M + 0.5
    look = np.isfinite(radius) & (radius > 0) & (radius > reach[movable])
    empty = np.zeros(0, np.int64)
    if not look.any():
        return empty, empty, np.zeros(0)
    codes, gi = np.unique(grid_of_c, return_inverse=True)
    tree = cKDTree(np.c_[base, gi * GRID_APART_M])
    hs = movable[look]
    hg = np.searchsorted(codes, grid[hs])
    found = tree.query_ball_point(np.c_[xy[hs], hg * GRID_APART_M], r=radius[look])
    sizes = np.fromiter((len(f) for f in found), np.int64, len(found))
    h = np.repeat(hs, sizes)
    c = np.fromiter((i for f in found for i in f), np.int64, int(sizes.sum()))
    d = np.linalg.norm(xy[h] - base[c], axis=1)
    target = np.where(priority[h], pot[n + k + c], pot[n + c])
    reduced = np.rint(d) + KEEP_BONUS_M + pot[h] - target
    new = reduced < 0  # arcs in the network never are: the flow is optimal
    return h[new], c[new], d[new]
