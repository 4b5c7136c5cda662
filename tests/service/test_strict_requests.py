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
