"""The 明白卡's way to a shelter: along the roads layer when there is one."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from pyproj import Geod

from tests.factories import TOWNSHIP
from tests.grids.factories_visits import make_road
from tests.layers.factories_hazards import HazardWorld, make_hazard_world

GEOD = Geod(ellps="WGS84")
CARDS = f"/townships/{TOWNSHIP}/hazards/HZ-P/cards"
ROAD_LAT = 37.099  # an east-west road just north of P100, 100 m SSW of HZ-P
S_ROAD = (102.505, 37.0993)  # ~890 m east of HZ-P, 33 m off the road
S_NEAR = (102.495, 37.094)  # nearer in a straight line, 555 m off the road


@pytest.fixture
def world(session: Session) -> HazardWorld:
    world = make_hazard_world(session)
    session.execute(
        text(
            "INSERT INTO shelters (township_code, code, name, geom) VALUES "
            "(:t, 'S-NEAR', '南坡空地', ST_Point(:nx, :ny, 4326)),"
            "(:t, 'S-ROAD', '村委会', ST_Point(:rx, :ry, 4326))"
        ),
        {"t": TOWNSHIP, "nx": S_NEAR[0], "ny": S_NEAR[1], "rx": S_ROAD[0],
         "ry": S_ROAD[1]},
    )  # fmt: skip
    session.commit()
    return world


def _card(page: str, household: str) -> str:
    start = page.index(f'data-household="{household}"')
    return page[start : page.index("</section>", start)]


def _length(*points: tuple[float, float]) -> float:
    return float(GEOD.line_length([p[0] for p in points], [p[1] for p in points]))


def test_without_roads_the_nearest_shelter_in_a_straight_line(
    client: TestClient, world: HazardWorld
) -> None:
    card = _card(client.get(CARDS).text, "P100")
    assert "南坡空地" in card and "沿道路" not in card and "离道路较远" not in card


def test_with_roads_the_nearest_along_the_roads_and_its_route(
    client: TestClient, session: Session, world: HazardWorld
) -> None:
    make_road(session, "R-1", [(102.490, ROAD_LAT), (102.506, ROAD_LAT)])
    page = client.get(CARDS).text
    card = _card(page, "P100")
    assert "村委会" in card and "南坡空地" not in card  # S-NEAR: no road near it
    home = world.households["P100"]
    expected = _length(home, (home[0], ROAD_LAT), (S_ROAD[0], ROAD_LAT), S_ROAD)
    match = re.search(r'class="road">约 (\d+) 米，步行约 (\d+) 分钟', card)
    assert match, card
    assert abs(int(match[1]) - expected) <= 5
    assert int(match[2]) == -(-expected // (4000 / 60))  # 4 km/h, rounded up
    sketch = re.search(r'<polyline points="([^"]+)"', card)
    assert sketch and len(sketch[1].split()) == 4  # home, road, road, shelter
    # a household 600 m from the road keeps the straight-line way, and says so
    far = _card(page, "R495")
    assert "离道路较远" in far and "沿道路" not in far
