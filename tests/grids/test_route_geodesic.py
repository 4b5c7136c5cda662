"""Reported route lengths are WGS84 geodesics, as QGIS or a GPS track measures them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from pyproj import Geod

from grids.routing.day_plans import plan_grid_day
from grids.routing.planner import plan_route
from grids.routing.tsp import great_circle_matrix
from grids.visits.schemas import DayPlanRequest, RouteRequest
from tests.factories import TOWNSHIP, make_households, make_township
from tests.grids.factories_visits import make_road, make_town

GEOD = Geod(ellps="WGS84")
# Stops a few km apart, as in a pastoral township: the sphere is metres off here.
SPREAD = [(102.53, 37.14), (102.47, 37.18), (102.61, 37.12), (102.56, 37.05),
          (102.42, 37.09), (102.59, 37.19), (102.50, 37.02),
          (102.44, 37.15)]  # fmt: skip
START = (102.51, 37.11)


def geod_legs(points: list[tuple[float, float]]) -> float:
    """Sum of pyproj.Geod legs between consecutive points."""
    total = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        total += GEOD.inv(x0, y0, x1, y1)[2]
    return total


@pytest.mark.parametrize("closed", [True, False])
def test_route_length_is_the_geodesic_sum_of_its_legs(
    session: Session, client: TestClient, closed: bool
) -> None:
    make_township(session)
    make_households(session, SPREAD, prefix="G")
    codes = [f"G{i + 1:03d}" for i in range(len(SPREAD))]
    body = {"households": codes, "start_lon": START[0], "start_lat": START[1],
            "closed": closed}  # fmt: skip
    response = client.post(f"/townships/{TOWNSHIP}/visit-routes", json=body)
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["metric"] == "WGS84 ellipsoid geodesic"
    stops = [(s["lon"], s["lat"]) for s in plan["days"][0]["stops"]]
    path = [START, *stops, *([START] if closed else [])]
    expected = geod_legs(path)
    assert plan["total_m"] == pytest.approx(expected, abs=0.01)
    legs = [s["leg_m"] for s in plan["days"][0]["stops"]]
    assert legs == pytest.approx(
        [GEOD.inv(*a, *b)[2] for a, b in itertools.pairwise(path)][: len(legs)],
        abs=0.01,
    )
    # The sphere would have been off by metres on this tour: the test can tell.
    lon, lat = np.array(path).T
    sphere = float(np.diag(great_circle_matrix(lon, lat), 1).sum())
    assert abs(sphere - expected) > 1.0
    assert plan["optimal"] is True and plan["gap"] == 0.0
    assert plan["lower_bound_m"] == pytest.approx(plan["total_m"], abs=0.01)


def test_road_route_length_is_geodesic_along_its_drawn_path(session: Session) -> None:
    make_township(session)
    make_households(session, [(102.505, 37.1004), (102.535, 37.1003)], prefix="R")
    make_road(session, "EW", [(102.50, 37.10), (102.52, 37.101), (102.54, 37.10)])
    plan = plan_route(
        session,
        township=TOWNSHIP,
        request=RouteRequest(households=["R001", "R002"], start_lon=102.501,
                             start_lat=37.1002, closed=False),
    )  # fmt: skip
    assert plan.distance == "road_network"
    assert all(s.leg_mode == "road" for s in plan.days[0].stops)
    features = plan.geojson["features"]
    line = next(f for f in features if f["properties"]["kind"] == "route")
    coords = line["geometry"]["coordinates"]
    drawn = GEOD.line_length([c[0] for c in coords], [c[1] for c in coords])
    # The GeoJSON is rounded to 7 decimals (1 cm): compare within a few centimetres.
    assert plan.total_m == pytest.approx(drawn, abs=0.05)
    assert plan.metric == "WGS84 ellipsoid geodesic"


def test_day_plan_states_the_metric(session: Session) -> None:
    make_town(session)
    plan = plan_grid_day(
        session, township=TOWNSHIP, grid="R", request=DayPlanRequest(per_day=10)
    )
    assert plan.metric == "WGS84 ellipsoid geodesic"
    assert plan.longest_m == max(c.route.total_m for c in plan.cadres)
