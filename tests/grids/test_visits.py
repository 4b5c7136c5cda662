"""The visit log: single and batch recording (all or nothing), the far-GPS flag."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from pyproj import Geod

from tests.factories import TOWNSHIP
from tests.grids.factories_visits import LAT, make_town

PROBLEM = "application/problem+json"
BASE = f"/townships/{TOWNSHIP}"
GEOD = Geod(ellps="WGS84")


def visit_count(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM visits")).scalar_one())


def metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def test_record_visit_with_demand(session: Session, client: TestClient) -> None:
    town = make_town(session)
    body = {
        "household": "H001",
        "visited_at": "2026-06-01T09:30:00",
        "purpose": "policy",
        "lon": 102.500,
        "lat": LAT + 0.001,
        "demands": [
            {"category": "medical", "description": "慢病报销", "due_date": "2026-06-15"}
        ],
    }
    response = client.post(f"{BASE}/visits", json=body)
    assert response.status_code == 201, response.text
    visit = response.json()
    assert visit["household"] == "H001"
    assert visit["cadre"] == "C1"  # the household's cadre by default
    assert visit["cadre_id"] == town.cadres["C1"]
    assert visit["visited_at"].startswith("2026-06-01T01:30:00")  # UTC+8 given naive
    assert visit["fix_distance_m"] == pytest.approx(
        metres(102.5, LAT, 102.5, LAT + 0.001), abs=0.01
    )
    assert visit["far"] is False
    demands = client.get(f"{BASE}/demands").json()["items"]
    assert len(demands) == 1
    assert demands[0]["owner"] == "C1" and demands[0]["status"] == "open"
    assert demands[0]["visit_id"] == visit["id"]
    events = client.get(f"{BASE}/demands/{demands[0]['id']}/events").json()
    assert [(e["from_status"], e["to_status"]) for e in events] == [(None, "open")]


def test_far_gps_fix_is_flagged(session: Session, client: TestClient) -> None:
    make_town(session)
    rows = [
        {"household": "H001", "cadre": "C1", "visited_at": "2026-06-01T09:00:00+08:00",
         "lon": 102.500, "lat": LAT + 0.004},  # ≈ 444 m north: not on site
        {"household": "H002", "cadre": "C1", "visited_at": "2026-06-01T10:00:00+08:00",
         "lon": 102.501, "lat": LAT + 0.002},  # ≈ 222 m
        {"household": "H003", "visited_at": "2026-06-01T11:00:00+08:00"},  # no fix
    ]  # fmt: skip
    response = client.post(f"{BASE}/visits/batch", json=rows)
    assert response.status_code == 201, response.text
    batch = response.json()
    assert (batch["inserted"], batch["far"]) == (3, 1)
    assert [v["far"] for v in batch["visits"]] == [True, False, False]
    assert batch["visits"][2]["fix_distance_m"] is None
    far = client.get(f"{BASE}/visits", params={"far_only": "true"}).json()["items"]
    assert [v["household"] for v in far] == ["H001"]
    assert far[0]["fix_distance_m"] == pytest.approx(
        metres(102.5, LAT, 102.5, LAT + 0.004), abs=0.01
    )
    stricter = client.get(
        f"{BASE}/visits", params={"far_only": "true", "far_m": 200}
    ).json()["items"]
    assert [v["household"] for v in stricter] == ["H002", "H001"]  # newest first
    looser = client.get(
        f"{BASE}/visits", params={"far_only": "true", "far_m": 500}
    ).json()["items"]
    assert looser == []


CSV_GOOD = (
    "household,cadre,visited_at,purpose,notes,lon,lat,demand_category,demand_description,demand_due\n"
    "H001,C1,2026-06-02T09:00:00+08:00,service,送药,102.5,37.1,,,\n"
    "H002,,2026-06-02T10:00:00+08:00,safety,,,,infrastructure,路灯坏了,2026-06-20\n"
    "H005,C2,2026-06-02T11:00:00+08:00,mediation,邻里纠纷,102.51,37.1,,,\n"
)


def test_csv_batch_records_visits_and_demands(
    session: Session, client: TestClient
) -> None:
    make_town(session)
    response = client.post(
        f"{BASE}/visits/batch",
        content=CSV_GOOD.encode(),
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["inserted"], body["demands"], body["far"]) == (3, 1, 0)
    assert [v["household"] for v in body["visits"]] == ["H001", "H002", "H005"]
    assert [v["cadre"] for v in body["visits"]] == ["C1", "C1", "C2"]
    demand = client.get(f"{BASE}/demands").json()["items"][0]
    assert (demand["household"], demand["category"], demand["due_date"]) == (
        "H002", "infrastructure", "2026-06-20")  # fmt: skip


@pytest.mark.parametrize(
    ("csv_body", "errors"),
    [
        (
            "household,visited_at,purpose\nH001,2026-06-02T09:00:00,service\n"
            "H002,2026-06-02T10:00:00,party\nH003,yesterday,service\n",
            [(2, "purpose"), (3, "visited_at")],
        ),
        (
            "household,cadre,visited_at\nH001,C1,2026-06-02T09:00:00\n"
            "H999,C1,2026-06-02T10:00:00\nH003,C9,2026-06-02T11:00:00\n",
            [(2, "household"), (3, "cadre")],
        ),
        (
            "household,visited_at,lon\nH001,2026-06-02T09:00:00,102.5\n",
            [(1, "row")],
        ),
        ("household,visited_at\nH001,2999-01-01T00:00:00\n", [(1, "visited_at")]),
    ],
    ids=["bad-values", "unknown-codes", "lon-without-lat", "future"],
)
def test_bad_batch_records_nothing_and_names_rows(
    session: Session, client: TestClient, csv_body: str, errors: list[tuple[int, str]]
) -> None:
    make_town(session)
    response = client.post(
        f"{BASE}/visits/batch",
        content=csv_body.encode(),
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    got = [(e["feature"], e["field"]) for e in response.json()["errors"]]
    assert got == errors
    assert visit_count(session) == 0


def test_batch_media_types(session: Session, client: TestClient) -> None:
    make_town(session)
    xml = client.post(
        f"{BASE}/visits/batch",
        content=b"<v/>",
        headers={"content-type": "application/xml"},
    )
    assert xml.status_code == 415 and xml.headers["content-type"] == PROBLEM
    not_list = client.post(f"{BASE}/visits/batch", json={"household": "H001"})
    assert not_list.status_code == 422
    empty = client.post(f"{BASE}/visits/batch", json=[])
    assert empty.status_code == 422
    assert visit_count(session) == 0


def test_visits_stay_in_their_township(session: Session, client: TestClient) -> None:
    make_town(session)
    from tests.factories import OTHER_TOWNSHIP, make_households, make_township

    make_township(session, OTHER_TOWNSHIP, "另一镇")
    make_households(session, [(102.6, 37.2)], township=OTHER_TOWNSHIP, prefix="X")
    response = client.post(
        f"{BASE}/visits",
        json={"household": "X001", "visited_at": "2026-06-01T09:00:00"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["reason"] == "no household 'X001'"


def test_listing_visits_by_naive_period_is_china_time(
    session: Session, client: TestClient
) -> None:
    # 2026-03-01T07:30 (China time, as recorded) is on 1 March: a naive `since`
    # of that day used to be read as UTC midnight and left the visit out.
    make_town(session)
    recorded = client.post(
        f"{BASE}/visits", json={"household": "H001", "visited_at": "2026-03-01T07:30"}
    )
    assert recorded.status_code == 201, recorded.text
    response = client.get(
        f"{BASE}/visits",
        params={"since": "2026-03-01T00:00:00", "until": "2026-03-02T00:00:00"},
    )
    assert response.status_code == 200
    assert [v["household"] for v in response.json()["items"]] == ["H001"]
    earlier = client.get(f"{BASE}/visits", params={"until": "2026-03-01T07:00:00"})
    assert earlier.json()["items"] == []
