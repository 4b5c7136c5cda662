"""Regressions from probing the layer importer and editor: inputs that were 500s."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import TOWNSHIP, make_township
from tests.layers.factories_layers import PROBLEM, count

BASE = f"/townships/{TOWNSHIP}/layers"
POINT = {"type": "Point", "coordinates": [102.5, 37.1]}


def collection(properties: dict[str, Any]) -> bytes:
    feature = {"type": "Feature", "properties": properties, "geometry": POINT}
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


def post(client: TestClient, layer: str, name: str, content: bytes) -> Any:
    return client.post(f"{BASE}/{layer}/import", files={"file": (name, content)})


@pytest.mark.parametrize("name", [".", ".."])
def test_upload_named_dot_is_unreadable_not_500(
    session: Session, client: TestClient, name: str
) -> None:
    # the temp path was the upload folder itself: IsADirectoryError
    make_township(session)
    response = post(client, "households", name, collection({"code": "H1"}))
    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM
    assert "upload" in response.json()["detail"]


@pytest.mark.parametrize("members", [2**40, 1e300])
def test_integer_beyond_the_column_is_named(
    session: Session, client: TestClient, members: float
) -> None:
    # COPY failed: 'value "1099511627776" is out of range for type integer'
    make_township(session)
    body = collection({"code": "H1", "head_name": "x", "members": members})
    response = post(client, "households", "h.geojson", body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    [error] = response.json()["errors"]
    assert (error["feature"], error["field"]) == (0, "members")
    assert error["reason"].startswith("must be at most 2147483647")
    assert count(session, "households") == 0


def test_patch_with_huge_integer_is_422(session: Session, client: TestClient) -> None:
    make_township(session)
    body = collection({"code": "H1", "head_name": "x"})
    created = post(client, "households", "h.geojson", body)
    assert created.status_code == 200, created.text
    response = client.patch(
        f"{BASE}/households/items/H1", json={"properties": {"members": 1e300}}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["members"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # year 0 in UTC: COPY 'date/time field value out of range'
        ("found_at", "0001-01-01T00:00:00+23:00"),
        # year 10000 in UTC: stored, then every export failed reading it back
        ("found_at", "9999-12-31T23:59:59-15:00"),
        ("deadline", "0001-01-01"),
    ],
)
def test_dates_outside_the_plausible_years_are_named(
    session: Session, client: TestClient, field: str, value: str
) -> None:
    make_township(session)
    body = collection({"code": "Z1", "kind": "flood", field: value})
    response = post(client, "hazards", "z.geojson", body)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["feature"], error["field"]) == (0, field)
    assert error["reason"].startswith("year outside 1900..2200")
    assert count(session, "hazards") == 0
    export = client.get(f"{BASE}/hazards/export")
    assert export.status_code == 200
