"""Strict requests: no number as a date, no boolean as a number; the schema says so."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis_service.app.main import create_app
from tests.factories import TOWNSHIP, make_township

BASE = f"/townships/{TOWNSHIP}"


@pytest.fixture(autouse=True)
def township(session: Session) -> str:
    return make_township(session)


@pytest.mark.parametrize("until", ["0.5", "1700000000", "-3", "1e9"])
def test_number_is_not_a_date_time(client: TestClient, until: str) -> None:
    response = client.get(f"{BASE}/visits", params={"until": until})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "not a number" in response.text


def test_iso_date_time_still_accepted(client: TestClient) -> None:
    response = client.get(f"{BASE}/visits", params={"until": "2025-06-01T09:00:00"})
    assert response.status_code == 200


@pytest.mark.parametrize("body", [{"min_share": False}, {"min_area_m2": True}])
def test_boolean_is_not_a_number(client: TestClient, body: dict[str, object]) -> None:
    response = client.post(f"{BASE}/disputes/detect", json=body)
    assert response.status_code == 422, response.text
    assert "expected a number" in response.text


def test_openapi_declares_problems_and_constraints() -> None:
    schema = create_app().openapi()
    assert "Problem" in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            for code in ("400", "404", "409", "422", "503"):
                content = responses[code]["content"]
                assert list(content) == ["application/problem+json"], (path, code)
            if method in ("post", "put", "patch"):
                assert {"413", "415", "507"} <= set(responses), (path, method)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] == "township":
                    assert parameter["schema"]["pattern"] == "^[0-9]{12}$"
                if parameter["in"] == "query" and parameter["name"] == "limit":
                    assert parameter["schema"]["maximum"] == 10_000


@pytest.mark.parametrize("dry_run", [0, 1, "true"])
def test_number_is_not_a_boolean(client: TestClient, dry_run: object) -> None:
    response = client.post(f"{BASE}/disputes/detect", json={"dry_run": dry_run})
    assert response.status_code == 422, response.text
    assert "expected true or false" in response.text


@pytest.mark.parametrize("path", ["/audit", f"{BASE}/hazards/stats"])
def test_number_is_not_a_date_in_audit_and_stats(client: TestClient, path: str) -> None:
    name = "since" if path == "/audit" else "as_of"
    response = client.get(path, params={name: "0.5"})
    assert response.status_code == 422, response.text


def test_a_subnormal_radius_is_422_not_500(client: TestClient) -> None:
    """5e-324 m underflowed PostgreSQL's float8 (a 500); under 1 m is refused."""
    response = client.get(f"{BASE}/hazards/warn", params={"radius_m": "5e-324"})
    assert response.status_code == 422, response.text


def test_one_township_path_template_and_int_dispute_ids() -> None:
    """PUT and GET share /townships/{township}; /disputes/detect is no dispute id."""
    paths = create_app().openapi()["paths"]
    assert set(paths[BASE.replace(TOWNSHIP, "{township}")]) >= {"get", "put"}
    assert "/townships/{code}" not in paths
    tile = paths["/ogc/tiles/{collectionId}/{z}/{x}/{y}.pbf"]["get"]
    names = [(p["in"], p["name"]) for p in tile["parameters"]]
    assert len(names) == len(set(names))
