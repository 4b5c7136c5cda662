"""Route planning: brute-force optimality, open/closed, days, roads, day plans."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from grids.routing.day_plans import plan_grid_day
from grids.routing.geodesy import geodesic_matrix
from grids.routing.planner import plan_route
from grids.routing.tsp import tour_length
from grids.visits.schemas import DayPlanRequest, RouteRequest
from tests.factories import TOWNSHIP, make_households, make_township
from tests.grids.factories_visits import assign, make_road, make_town

PROBLEM = "application/problem+json"
BASE = f"/townships/{TOWNSHIP}"
SCATTER = [(102.503, 37.104), (102.497, 37.108), (102.511, 37.102), (102.506, 37.095),
           (102.492, 37.099), (102.509, 37.109), (102.500, 37.092)]  # fmt: skip
START = (102.501, 37.101)


def brute_force(points: list[tuple[float, float]], *, closed: bool) -> float:
    lon, lat = np.array(points).T
    dist = geodesic_matrix(lon, lat)
    return min(
        tour_length(dist, [0, *p], closed=closed)
        for p in itertools.permutations(range(1, len(points)))
    )


def scatter(session: Session) -> list[str]:
    make_township(session)
    make_households(session, SCATTER, prefix="S")
    return [f"S{i + 1:03d}" for i in range(len(SCATTER))]


@pytest.mark.parametrize("closed", [True, False])
def test_route_is_optimal_against_brute_force(
    session: Session, client: TestClient, closed: bool
) -> None:
    codes = scatter(session)
    response = client.post(
        f"{BASE}/visit-routes",
        json={"households": codes, "start_lon": START[0], "start_lat": START[1],
              "closed": closed, "speed_kmh": 6.0},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    plan = response.json()
    best = brute_force([START, *SCATTER], closed=closed)
    assert plan["total_m"] == pytest.approx(best, abs=1e-6)
    assert plan["optimal"] is True and plan["gap"] == 0.0
    assert plan["distance"] == "great_circle" and plan["method"] == "held-karp"
    day = plan["days"][0]
    assert sorted(s["household"] for s in day["stops"]) == codes
    assert day["stops"][-1]["cumulative_m"] + (
        day["return_leg_m"] or 0
    ) == pytest.approx(best)
    assert (day["return_leg_m"] is not None) is closed
    assert day["return_leg_mode"] == ("great_circle" if closed else None)
    assert plan["minutes"] == pytest.approx(best / (6000 / 60))
    kinds = [f["geometry"]["type"] for f in plan["geojson"]["features"]]
    assert kinds == ["Point"] * 8 + ["LineString"]
    line = plan["geojson"]["features"][-1]["geometry"]["coordinates"]
    assert len(line) == 9 if closed else 8
    assert line[0] == list(START)


def test_open_route_is_shorter_than_closed(session: Session) -> None:
    codes = scatter(session)
    common = {"households": codes, "start_lon": START[0], "start_lat": START[1]}
    closed = plan_route(session, township=TOWNSHIP, request=RouteRequest(**common))
    open_ = plan_route(
        session, township=TOWNSHIP, request=RouteRequest(**common, closed=False)
    )
    assert open_.total_m < closed.total_m
    assert open_.total_m == pytest.approx(brute_force([START, *SCATTER], closed=False))


def test_stops_beyond_the_day_limit_split_into_days(session: Session) -> None:
    codes = scatter(session)
    plan = plan_route(
        session, township=TOWNSHIP,
        request=RouteRequest(households=codes, start_lon=START[0], start_lat=START[1],
                             per_day=3),
    )  # fmt: skip
    assert [len(d.stops) for d in plan.days] == [3, 2, 2]
    visited = [s.household for d in plan.days for s in d.stops]
    assert sorted(visited) == codes
    assert all(d.return_leg_m is not None and d.optimal for d in plan.days)
    assert plan.optimal is False and plan.lower_bound_m <= plan.total_m
    assert plan.total_m == pytest.approx(sum(d.total_m for d in plan.days))
    lines = [
        f for f in plan.geojson["features"] if f["geometry"]["type"] == "LineString"
    ]
    assert [f["properties"]["day"] for f in lines] == [1, 2, 3]
    assert plan.flags == ["split into 3 days of at most 3 stops"]


def test_cadre_route_defaults_to_due_households(
    session: Session, client: TestClient
) -> None:
    town = make_town(session)
    session.execute(
        text("INSERT INTO visits (township_code, household_id, cadre_id, visited_at) "
             "VALUES (:t, :h, :c, now())"),
        {"t": TOWNSHIP, "h": town.households["H002"], "c": town.cadres["C1"]},
    )  # fmt: skip
    session.commit()
    response = client.post(f"{BASE}/visit-routes", json={"cadre": "C1"})
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["start"] == {"lon": 102.5, "lat": 37.101}  # the cadre's base
    assert plan["cadre_id"] == town.cadres["C1"]
    assert (plan["cadre"], plan["cadre_name"]) == ("C1", "干部C1")
    assert sorted(s["household"] for s in plan["days"][0]["stops"]) == [
        "H001",
        "H003",
        "H004",
    ]
    # the head's name beside each code, for the CLI and the map
    assert {s["head_name"] for s in plan["days"][0]["stops"]} == {
        "户主H001", "户主H003", "户主H004"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"households": ["H001", "H404"], "start_lon": 102.5, "start_lat": 37.1}, 422,
         "households.1"),
        ({"households": ["H001"]}, 422, "start_lon"),
        ({"cadre": "C9"}, 404, None),
        ({"start_lon": 102.5, "start_lat": 37.1}, 422, None),
    ],
)  # fmt: skip
def test_bad_route_requests(
    session: Session, client: TestClient, body: dict, status: int, field: str | None
) -> None:
    make_town(session)
    response = client.post(f"{BASE}/visit-routes", json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    if field:
        assert response.json()["errors"][0]["field"] == field


def road_length(session: Session, code: str) -> float:
    return float(
        session.execute(
            text("SELECT ST_Length(geom::geography) FROM roads WHERE code = :c"),
            {"c": code},
        ).scalar_one()
    )


def test_route_follows_the_roads(session: Session) -> None:
    make_township(session)
    # A U-shaped road: up, across, down; the two feet are 0.01° of longitude apart.
    make_road(
        session,
        "U",
        [(102.50, 37.10), (102.50, 37.11), (102.51, 37.11), (102.51, 37.10)],
    )
    make_households(session, [(102.51, 37.10), (102.505, 37.09)], prefix="R")
    plan = plan_route(
        session, township=TOWNSHIP,
        request=RouteRequest(households=["R001"], start_lon=102.50, start_lat=37.10,
                             closed=False, speed_kmh=12.0),
    )  # fmt: skip
    assert plan.distance == "road_network"
    assert plan.total_m == pytest.approx(road_length(session, "U"), rel=1e-6)
    assert plan.days[0].stops[0].leg_mode == "road"
    line = plan.geojson["features"][-1]["geometry"]["coordinates"]
    assert [102.5, 37.11] in line and [102.51, 37.11] in line
    # R002 is ≈ 1.1 km from the nearest road: reached in a straight line, walking.
    both = plan_route(
        session, township=TOWNSHIP,
        request=RouteRequest(households=["R001", "R002"], start_lon=102.50,
                             start_lat=37.10, closed=False, walk_kmh=4.0),
    )  # fmt: skip
    r002 = next(s for s in both.days[0].stops if s.household == "R002")
    assert r002.leg_mode == "straight_walk"
    assert r002.flags == [
        "over 250 m from any road",
        "straight-line leg at walking speed",
    ]
    assert any("R002" in f for f in both.flags)


def test_crossing_roads_are_joined(session: Session) -> None:
    make_township(session)
    # An X without a shared vertex: ST_Node must join them at (102.51, 37.10).
    make_road(session, "EW", [(102.50, 37.10), (102.52, 37.10)])
    make_road(session, "NS", [(102.51, 37.09), (102.51, 37.11)])
    make_households(session, [(102.51, 37.11)], prefix="X")
    plan = plan_route(
        session, township=TOWNSHIP,
        request=RouteRequest(households=["X001"], start_lon=102.50, start_lat=37.10,
                             closed=False),
    )  # fmt: skip
    expected = road_length(session, "EW") / 2 + road_length(session, "NS") / 2
    assert plan.total_m == pytest.approx(expected, rel=1e-4)
    assert plan.days[0].stops[0].flags == []


def test_day_plan_keeps_own_households_within_the_limit(session: Session) -> None:
    make_town(session)
    plan = plan_grid_day(
        session,
        township=TOWNSHIP,
        grid="R",
        request=DayPlanRequest(per_day=2, time_limit_s=0.3),
    )
    shares = {
        c.cadre: sorted(s.household for s in c.route.days[0].stops) for c in plan.cadres
    }
    # Never visited: the monthly households (H001, H003, H005) come first.
    assert shares == {"C1": ["H001", "H003"], "C2": ["H005", "H006"]}
    assert plan.left_over == ["H002", "H004"]
    assert plan.longest_m == max(c.route.total_m for c in plan.cadres)


def test_rebalanced_day_plan_shortens_the_longest_route(
    session: Session, client: TestClient
) -> None:
    town = make_town(session)
    assign(
        session,
        list(town.households.values()),
        grid=town.grids["A"],
        cadre=town.cadres["C1"],
    )
    keep = plan_grid_day(
        session, township=TOWNSHIP, grid="R", request=DayPlanRequest(time_limit_s=0.3)
    )
    assert [c.households for c in keep.cadres] == [6, 0]
    response = client.post(
        f"{BASE}/grids/R/day-plan", json={"rebalance": True, "time_limit_s": 0.5}
    )
    assert response.status_code == 200, response.text
    balanced = response.json()
    shares = {c["cadre"]: sorted(s["household"] for s in c["route"]["days"][0]["stops"])
              for c in balanced["cadres"]}  # fmt: skip
    assert shares == {"C1": ["H001", "H002", "H003", "H004"], "C2": ["H005", "H006"]}
    assert balanced["longest_m"] < keep.longest_m
    alone = plan_route(
        session,
        township=TOWNSHIP,
        request=RouteRequest(households=["H001", "H002", "H003", "H004"], cadre="C1"),
    )
    assert balanced["longest_m"] == pytest.approx(alone.total_m)
    assert {f["properties"]["cadre"] for f in balanced["geojson"]["features"]} == {
        "C1",
        "C2",
    }
    assert balanced["left_over"] == []
