"""Regressions from fuzzing the API: inputs that used to answer 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import TOWNSHIP
from tests.grids.factories_visits import make_town
from tests.grids.test_visits import visit_count

# The one text rule (gis_service.core.inputs), for the API and for files alike.
UNSTORABLE = (
    "contains a NUL character (\\0) or an unpaired surrogate, "
    "which the database cannot store"
)

PROBLEM = "application/problem+json"
BASE = f"/townships/{TOWNSHIP}"


def test_nul_in_json_body_is_refused_naming_the_field(
    session: Session, client: TestClient
) -> None:
    make_town(session)
    body = {
        "household": "H001",
        "visited_at": "2026-06-01T09:30:00",
        "demands": [{"category": "medical", "description": "a\x00b"}],
    }
    response = client.post(f"{BASE}/visits", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"] == [
        {
            "field": "demands.0.description",
            "in": "body",
            "reason": UNSTORABLE,
        }
    ]
    assert visit_count(session) == 0


def test_unpaired_surrogate_in_json_is_refused(
    session: Session, client: TestClient
) -> None:
    make_town(session)
    raw = '{"household": "H001", "visited_at": "2026-06-01T09:30:00", '
    raw += '"notes": "x\\udb56y"}'
    response = client.post(
        f"{BASE}/visits", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["notes"]
    assert visit_count(session) == 0


def test_nul_in_query_and_path_is_refused(session: Session, client: TestClient) -> None:
    make_town(session)
    response = client.get(f"{BASE}/layers/households/items?village=a%00b")
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "village"
    response = client.get(f"{BASE}/layers/households/items/H0%0001")
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "code",
        "in": "path",
        "reason": UNSTORABLE,
    }


@pytest.mark.parametrize(
    ("url", "field"),
    [
        # PostgreSQL: "time zone displacement out of range" (offsets beyond ±15:59)
        ("/demands/closure?until=0839-02-10T17:22:58.7-17:54", "until"),
        ("/coverage/grids?until=7364-02-25T16:04:54-18:00", "until"),
        # Python: "date value out of range" computing as_of - 90 days
        ("/maps/coverage?as_of=0001-01-01T00:00:00Z", "as_of"),
        ("/demands?as_of=0001-01-01", "as_of"),
        # PostgreSQL: "bigint out of range"
        ("/demands?offset=731207569978758206515576832", "offset"),
        ("/demands/99999999999999999999999", "demand_id"),
        ("/disputes/99999999999999999999999", "dispute_id"),
    ],
)
def test_out_of_range_dates_and_numbers_are_422(
    session: Session, client: TestClient, url: str, field: str
) -> None:
    make_town(session)
    response = client.get(BASE + url)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_utc_offset_beyond_postgres_range_is_normalised(
    session: Session, client: TestClient
) -> None:
    make_town(session)
    response = client.get(
        f"{BASE}/demands/closure",
        params={"since": "2026-01-01T00:00:00-17:54", "until": "2026-02-01T00:00:00"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["since"] == "2026-01-01T17:54:00Z"


def test_demand_with_huge_visit_id_is_422(session: Session, client: TestClient) -> None:
    make_town(session)
    body = {
        "household": "H001",
        "category": "medical",
        "description": "x",
        "visit_id": 2**70,
    }
    response = client.post(f"{BASE}/demands", json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["visit_id"]


def test_assignment_run_with_an_id_beyond_bigint_is_422(
    session: Session, client: TestClient
) -> None:
    # psycopg2 "bigint out of range" reading the scoped households was a 500
    make_town(session)
    response = client.post(
        f"{BASE}/assignment/run", json={"household_ids": [1, 2**127]}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["household_ids.1"]
