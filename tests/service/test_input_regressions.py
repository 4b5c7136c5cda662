"""Regressions from fuzzing the API: inputs that used to answer 500."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.factories import TOWNSHIP
from tests.grids.factories_visits import make_town

PROBLEM = "application/problem+json"
BASE = f"/townships/{TOWNSHIP}"


def visit_count(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM visits")).scalar_one())


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
            "reason": "contains a NUL character or an unpaired surrogate",
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


def test_nul_in_query_and_path_is_refused(
    session: Session, client: TestClient
) -> None:
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
        "reason": "contains a NUL character or an unpaired surrogate",
    }
