"""The route map is the real plan (grids.routing.planner.plan_route), drawn."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis_service.core.errors import InvalidInput, NotFound
from grids.routing.planner import plan_route
from grids.visits.schemas import RouteRequest
from maps import cadre_route
from maps.render.basemaps import MapOptions
from maps.render.coverage import RouteData, render_route, to_html
from tests.factories import TOWNSHIP
from tests.grids.factories_visits import make_road
from tests.maps.factories_maps import AS_OF, PHONE, build_map_township
from tests.maps.test_map_pages import js

PROBLEM = "application/problem+json"
# C1's households due at AS_OF: H002 (100 d, quarterly), H003 (40 d, monthly) and
# H008 (never: its visit is later); H001 and H004 are up to date.
DUE = {"H002", "H003", "H008"}


def codes(route: RouteData) -> list[str]:
    return [s["label"].split()[0] for s in route.stops]


def test_route_map_draws_the_planners_order(session: Session) -> None:
    build_map_township(session)
    route = cadre_route.route_data(session, township=TOWNSHIP, cadre="C1", as_of=AS_OF)
    plan = plan_route(
        session, township=TOWNSHIP, request=RouteRequest(cadre="C1", as_of=AS_OF)
    )
    assert codes(route) == [s.household for s in plan.days[0].stops]
    # exact (Held–Karp) closed tour from the base at (102.0, 37.0): along the row
    # and up to H008, or the same loop the other way round (≈ 2 258 m)
    assert codes(route) in (["H002", "H003", "H008"], ["H008", "H003", "H002"])
    assert plan.optimal and plan.method == "held-karp"
    assert [s["seq"] for s in route.stops] == [1, 2, 3]
    assert route.length_m == plan.total_m == pytest.approx(2258, rel=0.01)
    assert route.duration_s == pytest.approx(plan.minutes * 60)
    assert route.start == {"lon": 102.0, "lat": 37.0, "label": "驻地"}
    # closed: the path returns to the base; great-circle legs are straight
    stops = [[s["lon"], s["lat"]] for s in route.stops]
    assert route.lines == [[[102.0, 37.0], *stops, [102.0, 37.0]]]
    assert route.offroad_legs == [] and route.flags == []
    h008 = next(s for s in route.stops if s["label"].startswith("H008"))
    assert h008["detail"]["状态"] == "从未走访" and h008["detail"]["上次走访"] == "从未"
    h002 = next(s for s in route.stops if s["label"].startswith("H002"))
    assert h002["label"] == "H002 户主H002" and h002["detail"]["逾期"] == "10 天"
    assert h002["detail"]["电话"] == "138****5678" != PHONE
    with pytest.raises(NotFound, match="C9"):
        cadre_route.route_data(session, township=TOWNSHIP, cadre="C9", as_of=AS_OF)


def test_route_options_reach_the_planner(session: Session) -> None:
    build_map_township(session)
    route = cadre_route.route_data(
        session, township=TOWNSHIP, cadre="C1", as_of=AS_OF, closed=False,
        per_day=2, start_lon=102.006, start_lat=37.0,
    )  # fmt: skip
    plan = plan_route(
        session, township=TOWNSHIP,
        request=RouteRequest(cadre="C1", as_of=AS_OF, closed=False, per_day=2,
                             start_lon=102.006, start_lat=37.0),
    )  # fmt: skip
    assert len(plan.days) == 2 and len(route.lines) == 2
    assert codes(route) == [s.household for d in plan.days for s in d.stops]
    assert [s["seq"] for s in route.stops] == [1, 2, 3]  # numbered over the days
    assert [s["day"] for s in route.stops] == [
        d.day for d in plan.days for _ in d.stops
    ]
    assert route.start is not None and route.start["label"] == "起点"
    assert route.lines[0][0] == [102.006, 37.0] != route.lines[0][-1]  # open
    assert route.flags[0] == "分 2 天走完, 每天至多 2 户"  # the planner's, in Chinese
    with pytest.raises(InvalidInput, match="together"):
        cadre_route.route_data(
            session, township=TOWNSHIP, cadre="C1", as_of=AS_OF, start_lon=102.0
        )


def test_route_along_the_roads_flags_off_road_legs(session: Session) -> None:
    build_map_township(session)
    # up from the base, then east along the row of H002/H003; H008 is ≈ 670 m off
    make_road(session, "R1", [(102.0, 37.0), (102.0, 37.002), (102.01, 37.002)])
    route = cadre_route.route_data(session, township=TOWNSHIP, cadre="C1", as_of=AS_OF)
    plan = plan_route(
        session, township=TOWNSHIP, request=RouteRequest(cadre="C1", as_of=AS_OF)
    )
    assert plan.distance == "road_network"
    assert codes(route) == [s.household for s in plan.days[0].stops]
    assert route.length_m == pytest.approx(plan.total_m)
    assert [102.0, 37.002] in route.lines[0]  # the road's corner, not a straight leg
    # stops reached by a straight walk: H008, and H003 too when it follows H008
    flagged = {s["label"].split()[0] for s in route.stops if s["flagged"]}
    walked = {s.household for s in plan.days[0].stops if s.leg_mode == "straight_walk"}
    assert "H008" in flagged and flagged == walked
    assert "over 250 m from any road" in next(
        s.flags for s in plan.days[0].stops if s.household == "H008"
    )
    # into and out of H008 (to the next stop or back to the base), both straight
    assert len(route.offroad_legs) == 2
    h008 = next(s for s in route.stops if s["label"].startswith("H008"))
    assert [h008["lon"], h008["lat"]] in route.offroad_legs[0]
    assert [h008["lon"], h008["lat"]] in route.offroad_legs[1]
    assert any("H008" in f for f in route.flags)
    page = to_html(render_route(route, MapOptions(basemap="none")))
    assert js("离路直线段 (2)") in page and js("gridgis-stop flagged") in page
    assert js("沿道路距离") in page


def test_route_page_over_http(client: TestClient, session: Session) -> None:
    build_map_township(session)
    base = f"/townships/{TOWNSHIP}/maps/routes/C1"
    page = client.get(base, params={"basemap": "none", "as_of": AS_OF.isoformat()})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.count(js("<div class='gridgis-stop'>")) == 3
    plan = plan_route(
        session, township=TOWNSHIP, request=RouteRequest(cadre="C1", as_of=AS_OF)
    )
    assert js(f"data-length-m='{plan.total_m:.0f}'") in page.text
    assert js("最优") in page.text
    assert PHONE not in page.text
    for params, needle in (
        ({"start_lon": 102.0}, "together"),
        ({"per_day": 0}, "per_day"),
    ):
        bad = client.get(base, params=params)
        assert (bad.status_code, bad.headers["content-type"]) == (422, PROBLEM)
        assert needle in bad.text


def test_route_render_days_and_flags() -> None:
    route = RouteData(
        cadre={"code": "C1", "name": "甲"},
        stops=[
            {"seq": 1, "day": 1, "lon": 102.001, "lat": 37.0, "label": "H1"},
            {
                "seq": 2,
                "day": 2,
                "lon": 102.002,
                "lat": 37.0,
                "label": "H2",
                "flagged": True,
            },
        ],
        lines=[
            [[102.0, 37.0], [102.001, 37.0], [102.0, 37.0]],
            [[102.0, 37.0], [102.002, 37.0], [102.0, 37.0]],
        ],
        length_m=1234.0,
        duration_s=3600.0,
        start={"lon": 102.0, "lat": 37.0, "label": "驻地"},
        flags=["off-road stops (straight legs at walking speed): H2"],
        offroad_legs=[[[102.0, 37.0], [102.002, 37.0]]],
    )
    page = to_html(render_route(route, MapOptions(basemap="none")))
    assert '"color": "#0072b2"' in page and '"color": "#7b3294"' in page
    assert '"dashArray": "6 6"' in page
    assert js("2 天") in page and js("1 小时 0 分") in page
    assert page.count(js("gridgis-stop flagged")) == 1
