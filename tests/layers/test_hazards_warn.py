"""Households to warn: against pyproj.Geod, polygons, radii, priority, masking."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.errors import InvalidInput
from gis_service.core.settings import HazardSettings
from layers.hazards.warn import SQL, check_radius, warn_list
from tests.factories import TOWNSHIP
from tests.layers.factories_hazards import (
    CADRE_PHONES,
    POINT,
    RING,
    SQUARE,
    HazardWorld,
    geod_to_point,
    geod_to_polygon,
    insert_hazard,
    make_hazard_world,
)

BASE = f"/townships/{TOWNSHIP}/hazards"
TOLERANCE_M = 0.5


@pytest.fixture
def world(session: Session) -> HazardWorld:
    return make_hazard_world(session)


def _items(client: TestClient, url: str) -> list[dict[str, Any]]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_point_hazard_matches_geod_either_side_of_the_radius(
    client: TestClient, world: HazardWorld
) -> None:
    items = _items(client, f"{BASE}/HZ-P/warn")
    listed = {i["household"]: i for i in items}
    expected = {
        code for code, (x, y) in world.households.items()
        if geod_to_point(x, y, POINT) <= 500.0
    }  # fmt: skip
    assert set(listed) == expected
    # 1-5 m inside are listed, 1-5 m outside are not
    assert {f"R{int(d)}" for d in RING if d < 500} <= set(listed)
    assert not {f"R{int(d)}" for d in RING if d > 500} & set(listed)
    for code, item in listed.items():
        x, y = world.households[code]
        assert abs(item["distance_m"] - geod_to_point(x, y, POINT)) < TOLERANCE_M
        assert item["hazard"] == "HZ-P"
        assert item["radius_m"] == 500.0  # the landslide default


def test_polygon_hazard_measures_from_the_edge_and_zero_inside(
    client: TestClient, world: HazardWorld
) -> None:
    items = _items(client, f"{BASE}/HZ-A/warn")
    listed = {i["household"]: i for i in items}
    assert set(listed) == {"A-IN", "A-E299", "A-N150"}
    assert listed["A-IN"]["distance_m"] == 0.0
    for code, item in listed.items():
        x, y = world.households[code]
        assert abs(item["distance_m"] - geod_to_polygon(x, y, SQUARE)) < TOLERANCE_M
    x, y = world.households["A-E301"]
    assert 300.0 < geod_to_polygon(x, y, SQUARE) < 302.0  # just outside: left out


def test_priority_households_first_and_phones_masked(
    client: TestClient, world: HazardWorld
) -> None:
    response = client.get(f"{BASE}/HZ-P/warn")
    body = response.json()
    first = body["items"][0]
    assert first["household"] == "P100" and first["priority"] is True
    assert body["priority"] == 1 and body["total"] == 6 and body["people"] == 18
    assert first["phone"] == "137****5678"
    assert first["cadre"] == "C1" and first["cadre_phone"] == "138****1111"
    for raw in (*CADRE_PHONES.values(), "13712345678"):
        assert raw not in response.text
    distances = [i["distance_m"] for i in body["items"][1:]]
    assert distances == sorted(distances)


def test_radius_per_request_per_hazard_and_per_kind(
    client: TestClient, session: Session, world: HazardWorld
) -> None:
    wide = _items(client, f"{BASE}/HZ-P/warn?radius_m=503.5")
    assert {"R501", "R502", "R503"} <= {i["household"] for i in wide}
    assert "R504" not in {i["household"] for i in wide}
    session.execute(text("UPDATE hazards SET warn_radius_m = NULL WHERE code = 'HZ-A'"))
    session.commit()
    flood = client.get(f"{BASE}/HZ-A/warn").json()
    assert flood["hazards"][0]["radius_m"] == 1000.0  # flood's default
    assert "A-E301" in {i["household"] for i in flood["items"]}
    custom = HazardSettings(warn_radius_m={**HazardSettings().warn_radius_m,
                                           "landslide": 99.0})  # fmt: skip
    out = warn_list(session, township=TOWNSHIP, settings=custom, code="HZ-P")
    assert out.hazards[0].radius_m == 99.0 and out.total == 0


@pytest.mark.parametrize("radius", ["-1", "0", "1e9", "500m", "nan", "inf"])
def test_bad_radius_is_a_422_naming_the_field(
    client: TestClient, world: HazardWorld, radius: str
) -> None:
    for url in (f"{BASE}/HZ-P/warn", f"{BASE}/warn", f"{BASE}/HZ-P/cards"):
        response = client.get(url, params={"radius_m": radius})
        assert response.status_code == 422, (url, radius)
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == ["radius_m"]


@pytest.mark.parametrize("radius", [-1, 0, 1e9, "500m", float("nan"), True])
def test_the_service_checks_the_radius_too(radius: Any) -> None:
    with pytest.raises(InvalidInput) as err:
        check_radius(radius)
    assert err.value.errors[0]["field"] == "radius_m"


def test_open_hazards_of_a_kind_in_an_area(
    client: TestClient, session: Session, world: HazardWorld
) -> None:
    insert_hazard(session, "HZ-C", "POINT(102.4951 37.1001)", status="closed",
                  closed_days_ago=1)  # fmt: skip
    both = client.get(f"{BASE}/warn").json()
    assert [h["code"] for h in both["hazards"]] == ["HZ-A", "HZ-P"]  # not the closed
    assert both["total"] == 9
    landslides = client.get(f"{BASE}/warn", params={"kind": "滑坡"}).json()
    assert [h["code"] for h in landslides["hazards"]] == ["HZ-P"]
    east = client.get(f"{BASE}/warn", params={"grid": "G-E"}).json()
    assert [h["code"] for h in east["hazards"]] == ["HZ-A"]
    boxed = client.get(f"{BASE}/warn", params={"bbox": "102.51,37.09,102.53,37.11"})
    assert [h["code"] for h in boxed.json()["hazards"]] == ["HZ-A"]
    bad = client.get(f"{BASE}/warn", params={"kind": "meteor"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "kind"


def test_a_household_near_two_hazards_is_listed_once_under_the_nearest(
    client: TestClient, session: Session, world: HazardWorld
) -> None:
    insert_hazard(session, "HZ-Q", "POINT(102.4952 37.1002)", kind="fire")
    body = client.get(f"{BASE}/warn").json()
    codes = [i["household"] for i in body["items"]]
    assert len(codes) == len(set(codes))
    p100 = next(i for i in body["items"] if i["household"] == "P100")
    assert set(p100["hazards"]) == {"HZ-P", "HZ-Q"}
    assert p100["hazards"][0] == p100["hazard"]  # nearest first


def test_a_page_past_the_end_still_counts_the_whole_list(
    client: TestClient, world: HazardWorld
) -> None:
    whole = client.get(f"{BASE}/HZ-P/warn").json()
    page = client.get(f"{BASE}/HZ-P/warn", params={"limit": 2, "offset": 1}).json()
    past = client.get(f"{BASE}/HZ-P/warn", params={"offset": 10_000}).json()
    assert whole["total"] == len(whole["items"]) > 3
    assert [i["household"] for i in page["items"]] == [
        i["household"] for i in whole["items"][1:3]
    ]
    for body in (page, past):
        assert (body["total"], body["priority"], body["people"]) == (
            whole["total"], whole["priority"], whole["people"]
        )  # fmt: skip
    assert past["items"] == [] and past["hazards"] == whole["hazards"]


@pytest.mark.parametrize(
    "scope",
    [
        None,  # the tables' owner, no row-level security
        "SELECT set_config('role', 'gridgis_wide', true), "
        "set_config('gridgis.role', 'admin', true), "
        "set_config('gridgis.townships', '*', true)",
        "SELECT set_config('role', 'gridgis_app', true), "
        "set_config('gridgis.role', 'grid_leader', true), "
        "set_config('gridgis.townships', '*', true), "
        "set_config('gridgis.grid_ids', '1', true)",
    ],
    ids=["owner", "admin-rls", "grid-leader-rls"],
)
def test_the_households_index_serves_the_statement(
    session: Session, world: HazardWorld, scope: str | None
) -> None:
    """Under RLS too: only a LEAKPROOF && may reach the index (migration 0085)."""
    session.execute(text("ANALYZE households"))
    session.execute(text("SET LOCAL enable_seqscan = off"))
    if scope is not None:
        session.execute(text(scope))
    params = {
        "t": TOWNSHIP, "code": "HZ-P", "kind": None, "severity": None,
        "grid_path": None, "minx": None, "miny": None, "maxx": None, "maxy": None,
        "radius_m": None, "priority_tags": [], "limit": 10, "offset": 0,
        "kinds": ["landslide"], "radii": [500.0], "sevs": [], "days": [],
    }  # fmt: skip
    statement = text("EXPLAIN " + str(SQL["warn"].text))
    plan = "\n".join(r[0] for r in session.execute(statement, params))
    assert "Index Cond: (geom && " in plan, plan


def test_warn_xlsx_has_chinese_headers_and_masked_phones(
    client: TestClient, world: HazardWorld
) -> None:
    response = client.get(f"{BASE}/HZ-P/warn.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book["预警农户"]
    rows = list(sheet.values)
    assert rows[0][:4] == ("序号", "户号", "户主", "人口")
    assert len(rows) == 1 + 6 and rows[1][1] == "P100"
    assert "13712345678" not in str(rows) and "137****5678" in str(rows)
    assert list(book["隐患"].values)[1][0] == "HZ-P"


def test_cards_escape_names_and_send_to_the_nearest_safe_shelter(
    client: TestClient, session: Session, world: HazardWorld
) -> None:
    session.execute(
        text("UPDATE households SET head_name = '<script>alert(1)</script>' "
             "WHERE code = 'P100'")
    )  # fmt: skip
    no_shelter = client.get(f"{BASE}/HZ-P/cards").text
    assert "尚未导入避险安置点" in no_shelter
    session.execute(
        text(
            "INSERT INTO shelters (township_code, code, name, geom) VALUES "
            "(:t, 'S-IN', '危险区内', ST_Point(102.4951, 37.1001, 4326)),"
            "(:t, 'S-OK', '村小学', ST_Point(102.495, 37.110, 4326))"
        ),
        {"t": TOWNSHIP},
    )
    session.commit()
    response = client.get(f"{BASE}/HZ-P/cards")
    page = response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert page.count('class="card"') == 6
    assert "村小学" in page and "危险区内" not in page
    assert "向北" in page and "138****1111" in page and "13800001111" not in page
