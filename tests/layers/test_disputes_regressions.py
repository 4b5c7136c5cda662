"""Regressions from fuzzing dispute detection: inputs that used to answer 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import TOWNSHIP
from tests.layers.factories_disputes import make_pasture

BASE = f"/townships/{TOWNSHIP}"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        # "value out of range: overflow" multiplying by the contract area
        ({"area_tolerance": 1.3686818934592018e307}, "area_tolerance"),
        ({"min_area_m2": 1e300}, "min_area_m2"),
    ],
)
def test_absurd_thresholds_are_422(
    session: Session, client: TestClient, body: dict[str, float], field: str
) -> None:
    make_pasture(session)
    response = client.post(f"{BASE}/disputes/detect", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_largest_allowed_tolerance_runs(session: Session, client: TestClient) -> None:
    make_pasture(session)
    response = client.post(f"{BASE}/disputes/detect", json={"area_tolerance": 1000})
    assert response.status_code == 200, response.text
    assert response.json()["area_tolerance"] == 1000
