"""Generated demo layers around the households (pure data, seeded).

Pasture parcels, roads, hazards, and 90 days of visits with the demands they raised.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon

from grids.models import PRIORITY_TAGS

CENTER = (102.50, 37.10)
KM_PER_DEG_LAT = 111.0
KM_PER_DEG_LON = 111.32 * math.cos(math.radians(CENTER[1]))


def km_to_deg(dx_km: np.ndarray, dy_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kilometre offsets to degrees near the demo township (local approximation)."""
    return dx_km / KM_PER_DEG_LON, dy_km / KM_PER_DEG_LAT


def _clip(cells: np.ndarray, outline: Polygon) -> np.ndarray:
    """Cells cut to the outline; only those crossing it are intersected.

    Most lie well inside, and intersecting each with the whole township was most of
    a large demo's generation time.
    """
    shapely.prepare(outline)
    crossing = ~shapely.contains_properly(outline, cells)
    out = cells.copy()
    out[crossing] = shapely.intersection(cells[crossing], outline)
    return out


def parcels(
    rng: np.random.Generator, core: Polygon, hh: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Voronoi pasture parcels clipped to the township; ~3% pushed over a neighbour."""
    n_parcels = max(20, round(len(hh) * 300 / 512))
    minx, miny, maxx, maxy = core.bounds
    seeds = shapely.points(
        rng.uniform(minx, maxx, n_parcels * 2), rng.uniform(miny, maxy, n_parcels * 2)
    )
    seeds = seeds[shapely.contains(core, seeds)][:n_parcels]
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=core)
    )
    cells = _clip(cells, core)
    cells = cells[~shapely.is_empty(cells) & (shapely.area(cells) > 0)]
    cells = shapely.set_precision(cells, 1e-7)
    cells = cells[~shapely.is_empty(cells)]
    holders = rng.choice(hh["code"].to_numpy(), len(cells))
    # About 3% of parcels were drawn too big: they spill 40-120 m over a neighbour.
    spill = rng.random(len(cells)) < 0.03
    spill_deg = rng.uniform(0.0004, 0.0011, spill.sum())
    cells[spill] = shapely.buffer(cells[spill], spill_deg, join_style="mitre")
    # A few digitising slivers: 1-2 m over the line.
    sliver = (~spill) & (rng.random(len(cells)) < 0.02)
    cells[sliver] = shapely.buffer(cells[sliver], 0.000015, join_style="mitre")
    cells = _clip(cells, core.buffer(0.002))
    frame = gpd.GeoDataFrame(
        {
            "contract_no": [f"620623-CB-{i + 1:06d}" for i in range(len(cells))],
            "holder_code": holders,
        },
        geometry=[MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in cells],
        crs=4326,
    )
    area_m2 = frame.to_crs(frame.estimate_utm_crs()).area.to_numpy()
    mu = area_m2 / (10_000 / 15)
    noise = rng.normal(1.0, 0.015, len(frame))
    off = rng.random(len(frame)) < 0.03  # contract area disagrees with the map
    noise[off] *= rng.choice([0.7, 1.35], off.sum())
    frame["contract_area_mu"] = np.round(mu * noise, 2)
    return frame


def roads(
    centers: list[tuple[float, float]], axes: list[float], villages: tuple[str, ...]
) -> gpd.GeoDataFrame:
    """A valley road through each village and a trunk road linking the villages."""
    rows = []
    for v, ((x, y), angle) in enumerate(zip(centers, axes, strict=True)):
        dx, dy = km_to_deg(
            np.array([-5.0, 5.0]) * np.cos(angle), np.array([-5.0, 5.0]) * np.sin(angle)
        )
        line = LineString([(x + dx[0], y + dy[0]), (x, y), (x + dx[1], y + dy[1])])
        rows.append(
            (f"R{v + 1:02d}", f"{villages[v]}沟道", "track", MultiLineString([line]))
        )
    order = np.argsort([c[0] for c in centers])
    trunk = LineString([centers[i] for i in order])
    rows.append(("R00", "乡道", "township_road", MultiLineString([trunk])))
    return gpd.GeoDataFrame(
        rows, columns=["code", "name", "kind", "geometry"], crs=4326
    )


def hazards(
    rng: np.random.Generator, hh: gpd.GeoDataFrame, *, n_hazards: int
) -> gpd.GeoDataFrame:
    """Hazards a few hundred metres from households, in every workflow state."""
    kinds = rng.choice(
        ["fire", "flood", "landslide", "road", "building"],
        n_hazards,
        p=[0.3, 0.2, 0.2, 0.15, 0.15],
    )
    near = hh.geometry.iloc[rng.integers(0, len(hh), n_hazards)].to_numpy()
    dx, dy = km_to_deg(rng.normal(0, 0.4, n_hazards), rng.normal(0, 0.4, n_hazards))
    pts = shapely.points(shapely.get_x(near) + dx, shapely.get_y(near) + dy)
    now = datetime.now(UTC).replace(microsecond=0)
    found = [now - timedelta(days=int(d)) for d in rng.integers(1, 120, n_hazards)]
    status = rng.choice(
        ["found", "rectifying", "closed"], n_hazards, p=[0.35, 0.35, 0.3]
    )
    return gpd.GeoDataFrame(
        {
            "code": [f"HZ{i + 1:04d}" for i in range(n_hazards)],
            "kind": kinds,
            "severity": rng.choice(
                ["low", "medium", "high", "critical"], n_hazards, p=[0.3, 0.4, 0.2, 0.1]
            ),
            "status": status,
            "description": [f"{k} hazard reported on patrol" for k in kinds],
            "warn_radius_m": np.where(
                np.isin(kinds, ["flood", "landslide"]), 800.0, 300.0
            ),
            "found_at": found,
            "deadline": [(f + timedelta(days=30)).date() for f in found],
            "closed_at": [
                f + timedelta(days=20) if s == "closed" else None
                for f, s in zip(found, status, strict=True)
            ],
        },
        geometry=pts,
        crs=4326,
    )


def visits(
    rng: np.random.Generator,
    hh: gpd.GeoDataFrame,
    in_leaf: np.ndarray,
    leaf_codes: np.ndarray,
    cadres: gpd.GeoDataFrame,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Ninety days of visits by a cadre of the household's grid; some raise demands."""
    n = len(hh)
    priority = (
        hh["tags"].map(lambda t: any(tag in PRIORITY_TAGS for tag in t)).to_numpy()
    )
    lam = np.where(priority, 2.5, 1.0)
    per_household = rng.poisson(lam)
    per_household[in_leaf < 0] = 0
    idx = np.repeat(np.arange(n), per_household)
    m = len(idx)
    cadres_by_grid = {
        code: cadres.index[cadres.home_grid_code == code].to_numpy()
        for code in leaf_codes
    }
    cadre_idx = (
        np.array(
            [rng.choice(cadres_by_grid[leaf_codes[in_leaf[i]]]) for i in idx], dtype=int
        )
        if m
        else np.array([], dtype=int)
    )
    now = datetime.now(UTC).replace(microsecond=0)
    when = [now - timedelta(days=float(d)) for d in rng.uniform(0, 90, m)]
    pts = hh.geometry.to_numpy()[idx]
    far = rng.random(m) < 0.03  # logged from the office, not on site
    spread_km = np.where(far, rng.uniform(0.5, 3.0, m), rng.uniform(0.0, 0.03, m))
    theta = rng.uniform(0, 2 * np.pi, m)
    dx, dy = km_to_deg(spread_km * np.cos(theta), spread_km * np.sin(theta))
    fixes = (
        shapely.points(shapely.get_x(pts) + dx, shapely.get_y(pts) + dy) if m else []
    )
    visits = gpd.GeoDataFrame(
        {
            "visit_key": np.arange(m),
            "household_code": hh["code"].to_numpy()[idx],
            "cadre_code": cadres["code"].to_numpy()[cadre_idx] if m else [],
            "visited_at": when,
            "purpose": rng.choice(
                ["policy", "service", "mediation", "safety"],
                m,
                p=[0.4, 0.35, 0.1, 0.15],
            ),
            "notes": None,
        },
        geometry=fixes,
        crs=4326,
    )
    raises = np.flatnonzero(rng.random(m) < 0.25)
    categories = rng.choice(
        [
            "employment",
            "medical",
            "education",
            "elderly_care",
            "infrastructure",
            "environment",
            "dispute",
            "safety",
        ],
        len(raises),
    )
    status = rng.choice(
        ["open", "in_progress", "resolved", "escalated"],
        len(raises),
        p=[0.1, 0.05, 0.8, 0.05],
    )
    visited = [when[i] for i in raises]
    demands = pd.DataFrame(
        {
            "visit_key": raises,
            "household_code": visits["household_code"].to_numpy()[raises] if m else [],
            "owner_code": visits["cadre_code"].to_numpy()[raises] if m else [],
            "category": categories,
            "description": [f"{c} request raised on visit" for c in categories],
            "status": status,
            "due_date": [(v + timedelta(days=30)).date() for v in visited],
            "resolved_at": [
                v + timedelta(days=7) if s == "resolved" else None
                for v, s in zip(visited, status, strict=True)
            ],
        }
    )
    return visits, demands
