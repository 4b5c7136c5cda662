"""A seeded, realistic generated township: pure data, no database.

Modelled on a pastoral township of Tianzhu county, Gansu (around 102.5°E, 37.1°N):
about 740 km², seven administrative villages whose households string out along
valleys, a "one core, two domains, six grids" hierarchy with exactly shared
borders, cadres serving 12-14 households, contracted pasture parcels (a few
overlapping across holders), hazards, roads and 90 days of visits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.ops import unary_union

from gis_service.app.demo import layers as demo_layers
from gis_service.app.demo.layers import CENTER, km_to_deg
from gis_service.app.demo.subgrids import area_of, split_area

DEMO_TOWNSHIP = "620623101000"
DEMO_NAME = "抓喜秀龙镇 (demo)"
DEMO_COUNTY = "天祝藏族自治县"

VILLAGES = (
    "南泥沟村",
    "永丰滩村",
    "代乾村",
    "红疙瘩村",
    "炭山岭村",
    "角林村",
    "旦马村",
)
SURNAMES = ("李", "王", "张", "马", "杨", "刘", "赵", "陈", "祁", "冯", "鲁", "何")
TIBETAN = (
    "才让",
    "卓玛",
    "扎西",
    "多杰",
    "拉毛",
    "尼玛",
    "索南",
    "加措",
    "桑吉",
    "央金",
)
GIVEN = ("建国", "秀英", "玉兰", "永福", "文德", "桂花", "国栋", "海燕", "德明", "春梅")
TAG_RATES = {
    "低保": 0.10, "特困": 0.02, "防返贫监测": 0.05, "脱贫不稳定户": 0.02,
    "边缘易致贫户": 0.02, "突发严重困难户": 0.01, "空巢老人": 0.08, "残疾": 0.04,
    "留守儿童": 0.05, "外出务工": 0.20,
}  # fmt: skip


@dataclass
class DemoTownship:
    """Every layer of the generated township, as frames ready to load."""

    code: str
    name: str
    county: str
    grids: gpd.GeoDataFrame  # code, name, level, parent_code, geometry
    cadres: (
        gpd.GeoDataFrame
    )  # code, name, role, phone, home_grid_code, capacity, geometry
    households: gpd.GeoDataFrame  # code, head_name, members, village, tags, ...
    parcels: gpd.GeoDataFrame  # contract_no, holder_code, contract_area_mu, geometry
    hazards: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    visits: gpd.GeoDataFrame  # household_code, cadre_code, visited_at, purpose, fix
    demands: pd.DataFrame  # visit_key, household_code, category, status, ...


def _lattice(rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    """Jittered lattice of 4x3 corner vertices for 3x2 cells (27.2 km square)."""
    cols, rows = 3, 2
    width_km, height_km = 30.0, 25.7  # ~740 km² before the outline is shaped
    xs = np.linspace(-width_km / 2, width_km / 2, cols + 1)
    ys = np.linspace(-height_km / 2, height_km / 2, rows + 1)
    grid = np.zeros((rows + 1, cols + 1, 2))
    for j, y in enumerate(ys):
        for i, x in enumerate(xs):
            border = i in (0, cols) or j in (0, rows)
            jitter = rng.normal(0, 0.8 if border else 1.6, 2)
            grid[j, i] = (x + jitter[0], y + jitter[1])
    return grid, cols, rows


def _wiggly_edge(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Points from a to b with shared, seeded wiggles (a ridge or a stream)."""
    steps = 8
    t = np.linspace(0, 1, steps + 1)[1:-1]
    direction = b - a
    normal = np.array([-direction[1], direction[0]]) / (np.linalg.norm(direction) or 1)
    offsets = rng.normal(0, 0.45, len(t)) * np.sin(np.pi * t)
    inner = a + np.outer(t, direction) + np.outer(offsets, normal)
    return np.vstack([a, inner, b])


def _grid_polygons(rng: np.random.Generator) -> list[list[Polygon]]:
    """Six cells [row][col] from shared edge vertex lists: borders match exactly."""
    lattice, cols, rows = _lattice(rng)
    horizontal = {
        (j, i): _wiggly_edge(lattice[j, i], lattice[j, i + 1], rng)
        for j in range(rows + 1) for i in range(cols)
    }  # fmt: skip
    vertical = {
        (j, i): _wiggly_edge(lattice[j, i], lattice[j + 1, i], rng)
        for j in range(rows) for i in range(cols + 1)
    }  # fmt: skip
    cells: list[list[Polygon]] = []
    for j in range(rows):
        row = []
        for i in range(cols):
            ring_km = np.vstack(
                [
                    horizontal[(j, i)][:-1],
                    vertical[(j, i + 1)][:-1],
                    horizontal[(j + 1, i)][::-1][:-1],
                    vertical[(j, i)][::-1][:-1],
                ]
            )
            lon, lat = km_to_deg(ring_km[:, 0], ring_km[:, 1])
            coords = np.round(np.column_stack([lon + CENTER[0], lat + CENTER[1]]), 7)
            row.append(Polygon(coords))
        cells.append(row)
    return cells


def _id_number(rng: np.random.Generator, n: int) -> list[str]:
    """Plausible 18-digit resident ID numbers with a valid ISO 7064 check digit."""
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    checks = "10X98765432"
    births = pd.Timestamp("1940-01-01") + pd.to_timedelta(
        rng.integers(0, 365 * 65, n), "D"
    )
    seq = rng.integers(100, 999, n)
    # The 17 body digits as columns (vectorised: a Python loop per resident was a
    # large demo's slowest step), then the ISO 7064 MOD 11-2 check character.
    ymd = births.year * 10_000 + births.month * 100 + births.day
    number = (620623 * 10**8 + np.asarray(ymd, dtype=np.int64)) * 1000 + seq
    digits = (number[:, None] // 10 ** np.arange(16, -1, -1)) % 10
    check = np.array(list(checks))[(digits @ weights) % 11]
    return [f"{b}{c}" for b, c in zip(number.tolist(), check.tolist(), strict=True)]


def _phones(rng: np.random.Generator, n: int) -> list[str]:
    prefixes = rng.choice(["138", "139", "151", "177", "189", "135"], n)
    return [
        f"{p}{x:08d}" for p, x in zip(prefixes, rng.integers(0, 10**8, n), strict=True)
    ]


def _names(rng: np.random.Generator, n: int) -> list[str]:
    tibetan = rng.random(n) < 0.45
    han = [
        s + g
        for s, g in zip(rng.choice(SURNAMES, n), rng.choice(GIVEN, n), strict=True)
    ]
    tib = list(rng.choice(TIBETAN, n))
    return [t if is_tib else h for t, h, is_tib in zip(tib, han, tibetan, strict=True)]


def _grid_frame(
    rows: list[tuple[str, str, str, str | None, Any]],
    areas: list[Polygon],
    lon: np.ndarray,
    lat: np.ndarray,
) -> gpd.GeoDataFrame:
    """Core, domains, then the six areas: grids, or villages split into grids.

    A small demo keeps six grids; a large one splits each area into grids of ~300
    households (``subgrids``), as a real township would.
    """
    rows = list(rows)
    where = area_of(areas, lon, lat)
    split = [
        split_area(a, lon[where == k], lat[where == k]) for k, a in enumerate(areas)
    ]
    villages = any(len(parts) > 1 for parts in split)
    for k, area in enumerate(areas):
        code, parent = f"G{k // 3 + 1}-{k % 3 + 1}", f"G{k // 3 + 1}"
        name = f"第{k + 1}网格"
        if not villages:
            rows.append((code, name, "grid", parent, area))
            continue
        rows.append((code, f"第{k + 1}片区", "village", parent, area))
        for j, part in enumerate(split[k], start=1):
            rows.append(
                (f"{code}-{j:02d}", f"第{k + 1}片区第{j}网格", "grid", code, part)
            )
    grids = gpd.GeoDataFrame(
        rows, columns=["code", "name", "level", "parent_code", "geometry"], crs=4326
    )
    grids["geometry"] = [
        MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in grids.geometry
    ]
    return grids


def generate(*, households: int = 512, seed: int = 20261123) -> DemoTownship:
    """Generate the demo township; the same seed gives the same data."""
    rng = np.random.default_rng(seed)
    cells = _grid_polygons(rng)
    leaves = [cells[j][i] for j in range(2) for i in range(3)]
    domains = [unary_union(cells[0]), unary_union(cells[1])]
    core = unary_union(domains)
    grid_rows: list[tuple[str, str, str, str | None, Any]] = [
        ("G0", "抓喜秀龙镇综合网格 (一核)", "core", None, core)
    ]
    for d, dom in enumerate(domains):
        grid_rows.append(
            (f"G{d + 1}", ["南片区 (一域)", "北片区 (一域)"][d], "domain", "G0", dom)
        )
    # Villages: one per leaf grid, a seventh sharing grid 5; each strung along a valley.
    village_leaf = [0, 1, 2, 3, 4, 5, 4]
    centers: list[tuple[float, float]] = []
    axes: list[float] = []
    for leaf_index in village_leaf:
        c = leaves[leaf_index].representative_point()
        centers.append(
            (c.x + rng.normal(0, 0.01), c.y + rng.normal(0, 0.008))
            if leaf_index != 4 or len(centers) < 6
            else (c.x + 0.05, c.y - 0.03)
        )
        axes.append(rng.uniform(0, np.pi))
    weights = rng.dirichlet(np.full(len(VILLAGES), 6.0))
    counts = rng.multinomial(households, weights)
    xs, ys, village = [], [], []
    for v, n in enumerate(counts):
        if n == 0:
            continue
        angle = axes[v]
        along = rng.normal(0, 2.2, n * 2)  # km along the valley
        across = rng.normal(0, 0.25, n * 2)  # km across it
        dx = along * np.cos(angle) - across * np.sin(angle)
        dy = along * np.sin(angle) + across * np.cos(angle)
        lon, lat = km_to_deg(dx, dy)
        pts = shapely.points(lon + centers[v][0], lat + centers[v][1])
        inside = shapely.contains(core, pts)
        chosen = np.flatnonzero(inside)[:n]
        short = n - len(chosen)
        if short:
            chosen = np.concatenate([chosen, rng.choice(np.flatnonzero(inside), short)])
        xs.append(shapely.get_x(pts[chosen]))
        ys.append(shapely.get_y(pts[chosen]))
        village += [VILLAGES[v]] * n
    lon = np.concatenate(xs)
    lat = np.concatenate(ys)
    # Two households just over the township line (a herder's winter camp): they must
    # show up as unassigned, not vanish.
    if households >= 50:
        bounds = core.bounds
        lon[:2] = [bounds[0] - 0.004, bounds[2] + 0.003]
        lat[:2] = [CENTER[1] - 0.01, CENTER[1] + 0.02]
    n = len(lon)
    grids = _grid_frame(grid_rows, leaves, lon, lat)
    draws = rng.random((n, len(TAG_RATES))) < np.array(list(TAG_RATES.values()))
    tag_names = np.array(list(TAG_RATES))
    tags = [list(tag_names[row]) for row in draws]
    hh = gpd.GeoDataFrame(
        {
            "code": [f"HH{i + 1:06d}" for i in range(n)],
            "head_name": _names(rng, n),
            "members": rng.integers(1, 8, n),
            "village": village,
            "tags": tags,
            "id_number": _id_number(rng, n),
            "phone": _phones(rng, n),
        },
        geometry=shapely.points(np.round(lon, 7), np.round(lat, 7)),
        crs=4326,
    )

    # Cadres: enough capacity for each leaf grid's households (~13 each), one leader.
    leaf_codes = grids.loc[grids.level == "grid", "code"].to_numpy()
    leaf_geoms = grids.loc[grids.level == "grid", "geometry"].to_numpy()
    in_leaf = area_of(list(leaf_geoms), lon, lat)
    cadre_rows: list[tuple[Any, ...]] = []
    for k, code in enumerate(leaf_codes):
        members = np.flatnonzero(in_leaf == k)
        needed = max(1, math.ceil(len(members) / 13))
        for c in range(needed):
            base = (
                hh.geometry.iloc[rng.choice(members)]
                if len(members)
                else leaf_geoms[k].representative_point()
            )
            role = (
                "grid_leader" if c == 0 else rng.choice(["party_member", "grid_worker"])
            )
            name, phone = _names(rng, 1)[0], _phones(rng, 1)[0]
            capacity = int(rng.integers(12, 15))
            code_c = f"C{len(cadre_rows) + 1:04d}"
            cadre_rows.append((code_c, name, role, phone, code, capacity, base))
    cadres = gpd.GeoDataFrame(
        cadre_rows,
        columns=[
            "code",
            "name",
            "role",
            "phone",
            "home_grid_code",
            "capacity",
            "geometry",
        ],
        crs=4326,
    )

    parcels = demo_layers.parcels(rng, core, hh)
    roads = demo_layers.roads(centers, axes, VILLAGES)
    hazards = demo_layers.hazards(
        rng, hh, n_hazards=max(5, round(25 * households / 512))
    )
    visits, demands = demo_layers.visits(rng, hh, in_leaf, leaf_codes, cadres)
    return DemoTownship(
        DEMO_TOWNSHIP, DEMO_NAME, DEMO_COUNTY,
        grids, cadres, hh, parcels, hazards, roads, visits, demands,
    )  # fmt: skip


__all__ = ["DEMO_TOWNSHIP", "DemoTownship", "generate"]
