"""Regressions from fuzzing the visit batch import: inputs that used to answer 500."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import TOWNSHIP
from tests.grids.factories_visits import assign, make_town
from tests.grids.test_visits import visit_count

# The one text rule (gis_service.core.inputs), for the API and for files alike.
UNSTORABLE = (
    "contains a NUL character (\\0) or an unpaired surrogate, "
    "which the database cannot store"
)

PROBLEM = "application/problem+json"
BASE = f"/townships/{TOWNSHIP}"
CSV = {"content-type": "text/csv"}


def test_csv_with_bare_carriage_returns_is_read(
    session: Session, client: TestClient
) -> None:
    # csv.Error "new-line character seen in unquoted field" was a 500
    make_town(session)
    body = "household,visited_at\rH001,2026-06-01T09:00\rH002,2026-06-01T10:00\r"
    response = client.post(f"{BASE}/visits/batch", content=body.encode(), headers=CSV)
    assert response.status_code == 201, response.text
    assert response.json()["inserted"] == 2
    assert visit_count(session) == 2


def test_malformed_csv_is_422_naming_the_line(
    session: Session, client: TestClient
) -> None:
    make_town(session)
    huge = "x" * 200_000  # over the csv module's field size limit
    body = f"household,visited_at,notes\nH001,2026-06-01T09:00,{huge}\n"
    response = client.post(f"{BASE}/visits/batch", content=body.encode(), headers=CSV)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["detail"].startswith("malformed CSV at line 2")
    assert problem["errors"][0]["field"] == "csv"
    assert visit_count(session) == 0


def test_nul_in_a_csv_cell_is_422_naming_row_and_field(
    session: Session, client: TestClient
) -> None:
    # the csv module passes NUL through; psycopg2 then raised ValueError (500)
    make_town(session)
    body = "household,visited_at\nH001,2026-06-01T09:00\nH0\x0002,2026-06-01T10:00\n"
    response = client.post(f"{BASE}/visits/batch", content=body.encode(), headers=CSV)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "feature": 2,
            "row": 3,
            "field": "household",
            "reason": "Value error, " + UNSTORABLE,
        }
    ]
    assert visit_count(session) == 0


def test_day_plan_with_an_unowned_household_keeps_the_owned_ones(
    session: Session, client: TestClient
) -> None:
    # One due household without a cadre sends the plan through the solver with
    # the others pinned to their cadre: SetAllowedVehiclesForIndex raised TypeError.
    town = make_town(session)
    assign(session, [town.households["H006"]], grid=town.grids["B"], cadre=None)
    response = client.post(f"{BASE}/grids/R/day-plan", json={"time_limit_s": 0.3})
    assert response.status_code == 200, response.text
    shares = {
        c["cadre"]: sorted(s["household"] for s in c["route"]["days"][0]["stops"])
        for c in response.json()["cadres"]
    }
    assert shares == {"C1": ["H001", "H002", "H003", "H004"], "C2": ["H005", "H006"]}


def test_denormal_speed_is_422(session: Session, client: TestClient) -> None:
    # speed_kmh 5e-324 passed gt=0; metres / (speed / 3.6) divided by zero
    make_town(session)
    response = client.post(
        f"{BASE}/grids/R/day-plan", json={"closed": False, "speed_kmh": 5e-324}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["speed_kmh"]
