"""The way to a shelter on a 明白卡: along the roads layer when the township has one.

Candidates are each household's three nearest shelters outside its hazard's radius
(straight line, one statement); with roads, the one nearest along the roads wins and
the card gets its road length, walking time and a sketch of the route (Dijkstra from
the few shelters only, ``grids.routing.road_network.road_legs``). Without roads, or
for a household or shelter farther than ``MAX_SNAP_M`` from any road, it is the
nearest in a straight line and the card says so. The route does not avoid the
hazard's zone (the household may be inside it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from grids.routing.geodesy import line_length
from grids.routing.road_network import road_legs
from layers.hazards.warn import nearest_shelters

MAX_SNAP_M = 250.0  # as the visit routes: farther from a road walks straight
WALK_KMH = 4.0  # an evacuation walks at an elderly pace
SKETCH_W, SKETCH_H, SKETCH_PAD = 240.0, 150.0, 12.0


@dataclass
class Way:
    """A household's shelter and, when the roads reach both, the road route there."""

    shelter: Any
    roads: str  # road | offroad (too far from a road) | none (no roads layer)
    road_m: float | None = None
    coords: list[tuple[float, float]] | None = None

    @property
    def walk_minutes(self) -> int | None:
        """Walking time along the roads, rounded up to a minute."""
        if self.road_m is None:
            return None
        return math.ceil(self.road_m / (WALK_KMH * 1000 / 60))

    def sketch(self) -> dict[str, Any] | None:
        """The route drawn in a SKETCH_W x SKETCH_H box, north up: SVG points, ends."""
        if not self.coords:
            return None
        lon = np.array([c[0] for c in self.coords])
        lat = np.array([c[1] for c in self.coords])
        x = (lon - lon.min()) * math.cos(math.radians(float(lat.mean())))
        y = lat.max() - lat
        eps = max(float(x.max()), float(y.max()), 1e-12) * 1e-3
        k = min((SKETCH_W - 2 * SKETCH_PAD) / max(float(x.max()), eps),
                (SKETCH_H - 2 * SKETCH_PAD) / max(float(y.max()), eps))  # fmt: skip
        xs, ys = SKETCH_PAD + x * k, SKETCH_PAD + y * k
        return {
            "points": " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys, strict=True)),
            "home": (round(float(xs[0]), 1), round(float(ys[0]), 1)),
            "shelter": (round(float(xs[-1]), 1), round(float(ys[-1]), 1)),
        }


def ways(session: Session, *, township: str, rows: list[Any]) -> dict[str, Way]:
    """Each listed household's way to its shelter (none when no shelter is safe)."""
    candidates = nearest_shelters(session, township=township, rows=rows)
    if not candidates:
        return {}
    homes = [r for r in rows if r.code in candidates]
    shelters = {s.code: s for c in candidates.values() for s in c}
    codes = list(shelters)
    legs = road_legs(
        session, township=township,
        origins=np.array([(r.lon, r.lat) for r in homes], dtype=float),
        targets=np.array([(shelters[c].lon, shelters[c].lat) for c in codes],
                         dtype=float),
        max_snap_m=MAX_SNAP_M,
    )  # fmt: skip
    column = {code: j for j, code in enumerate(codes)}
    out: dict[str, Way] = {}
    for i, home in enumerate(homes):
        mine = candidates[home.code]
        if legs is None:
            out[home.code] = Way(mine[0], "none")
            continue
        dist = [float(legs.dist[i, column[s.code]]) for s in mine]
        best = int(np.argmin(dist))
        if not math.isfinite(dist[best]):
            out[home.code] = Way(mine[0], "offroad")
            continue
        coords = legs.path(i, column[mine[best].code])
        out[home.code] = Way(mine[best], "road", line_length(coords), coords)
    return out
