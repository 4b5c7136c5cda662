"""Reading and editing layers: list, filters, paging, get, patch, delete, masking."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from grids.assignment.store import assign_to
from tests.factories import TOWNSHIP, make_grid, make_households, make_township, square
from tests.layers.factories_layers import GEOJSON, ID_NUMBER, PHONE, PROBLEM

BASE = f"/townships/{TOWNSHIP}/layers"


@pytest.fixture(autouse=True)
def households(session: Session) -> list[int]:
    make_township(session)
    make_grid(session, "G0", square(102.0, 37.0, 1.0), level="core")
    make_grid(session, "G1", square(102.0, 37.0, 0.5), parent="G0")
    ids = make_households(
        session,
        [(102.1, 37.1), (102.2, 37.2), (102.8, 37.8)],
        tags=[["低保"], [], ["低保", "残疾"]],
        id_number=ID_NUMBER,
        phone=PHONE,
    )
    grid = session.execute(text("SELECT id FROM grids WHERE code = 'G1'")).scalar()
    assign_to(
        session, township=TOWNSHIP, household_ids=ids[:2], grid_id=grid, cadre_id=None
    )
    session.commit()
    return ids


def test_list_is_a_masked_feature_collection(client: TestClient) -> None:
    response = client.get(f"{BASE}/households/items")
    assert response.status_code == 200
    assert response.headers["content-type"] == GEOJSON
    body = response.json()
    assert (body["numberMatched"], body["numberReturned"]) == (3, 3)
    first = body["features"][0]
    assert first["id"] == "H001"
    assert first["geometry"] == {"type": "Point", "coordinates": [102.1, 37.1]}
    props = first["properties"]
    assert props["id_number"] == "620623********1234"
    assert props["phone"] == "138****5678"
    assert (props["grid_code"], props["tags"]) == ("G1", ["低保"])
    assert ID_NUMBER not in response.text and PHONE not in response.text


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("bbox=102.0,37.0,102.5,37.5", ["H001", "H002"]),
        ("tag=低保", ["H001", "H003"]),
        ("grid=G0", ["H001", "H002"]),  # the subtree under G0
        ("grid=G1&tag=低保", ["H001"]),
    ],
)
def test_filters(client: TestClient, query: str, codes: list[str]) -> None:
    body = client.get(f"{BASE}/households/items?{query}").json()
    assert [f["id"] for f in body["features"]] == codes


def test_paging_links(client: TestClient) -> None:
    body = client.get(f"{BASE}/households/items?limit=2&tag=低保").json()
    assert (body["numberMatched"], body["numberReturned"]) == (2, 2)
    assert [link["rel"] for link in body["links"]] == ["self"]
    body = client.get(f"{BASE}/households/items?limit=1").json()
    assert (body["numberMatched"], body["numberReturned"]) == (3, 1)
    nxt = next(link["href"] for link in body["links"] if link["rel"] == "next")
    assert "offset=1" in nxt and "limit=1" in nxt
    second = client.get(nxt).json()
    assert [f["id"] for f in second["features"]] == ["H002"]
    assert {link["rel"] for link in second["links"]} == {"self", "next", "prev"}


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=found", "status"), ("limit=100000", "limit"), ("bbox=1,2", "bbox")],
)
def test_bad_list_parameters(client: TestClient, query: str, field: str) -> None:
    response = client.get(f"{BASE}/households/items?{query}")
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == field


def test_hazard_status_filter_checks_the_enumeration(client: TestClient) -> None:
    response = client.get(f"{BASE}/hazards/items?status=done")
    assert response.status_code == 422
    assert "found, rectifying, closed" in response.json()["detail"]


def test_get_one_and_404(client: TestClient) -> None:
    body = client.get(f"{BASE}/households/items/H002").json()
    assert body["properties"]["phone"] == "138****5678"
    missing = client.get(f"{BASE}/households/items/NOPE")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM


def test_patch_validates_and_keeps_masked_values(
    client: TestClient, session: Session
) -> None:
    current = client.get(f"{BASE}/households/items/H001").json()["properties"]
    response = client.patch(
        f"{BASE}/households/items/H001",
        json={
            "properties": {
                "members": 5,
                "id_number": current["id_number"],
                "tags": ["残疾"],
            }
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["properties"]["members"] == 5
    row = session.execute(
        text("SELECT members, id_number, tags, phone FROM households WHERE code='H001'")
    ).one()
    assert tuple(row) == (5, ID_NUMBER, ["残疾"], PHONE)


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"properties": {"members": "lots"}}, "members", "expected a number"),
        ({"properties": {"tags": ["富裕"]}}, "tags", "unknown tag(s) 富裕"),
        ({"properties": {"colour": "red"}}, "colour", "not editable"),
        ({"properties": {"code": "  "}}, "code", "not a code"),
        ({"properties": {"code": "H" * 65}}, "code", "not a code"),
        (
            {"geometry": {"type": "Point", "coordinates": [37.1, 102.1]}},
            "geometry",
            "look swapped",
        ),
        ({"geometry": None}, "geometry", "missing geometry"),
    ],
)
def test_patch_rejects_bad_values(
    client: TestClient, session: Session, body: dict, field: str, reason: str
) -> None:
    before = session.execute(text("SELECT households::text FROM households")).all()
    response = client.patch(f"{BASE}/households/items/H001", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    error = response.json()["errors"][0]
    assert error["field"] == field and reason in error["reason"]
    assert (
        session.execute(text("SELECT households::text FROM households")).all() == before
    )


def test_moving_a_household_reruns_its_assignment(
    client: TestClient, session: Session, households: list[int]
) -> None:
    make_grid(session, "G2", square(102.5, 37.5, 0.5), parent="G0")
    response = client.patch(
        f"{BASE}/households/items/H001",
        json={"geometry": {"type": "Point", "coordinates": [102.7, 37.7]}},
    )
    assert response.status_code == 200
    assert response.json()["geometry"]["coordinates"] == [102.7, 37.7]
    grid = session.execute(
        text("SELECT g.code FROM households_assigned h "
             "JOIN grids g ON g.township_code = h.township_code AND g.id = h.grid_id "
             "WHERE h.id = :id"),
        {"id": households[0]},
    ).scalar_one()  # fmt: skip
    assert grid == "G2"


def test_delete_and_conflict(client: TestClient, session: Session) -> None:
    assert client.delete(f"{BASE}/households/items/H003").status_code == 204
    assert client.get(f"{BASE}/households/items/H003").status_code == 404
    refused = client.delete(f"{BASE}/grids/items/G0")
    assert refused.status_code == 409
    assert "1 child grids" in refused.json()["detail"]
    assert client.delete(f"{BASE}/households/items/H003").status_code == 404


def test_cadre_phone_is_masked(client: TestClient, session: Session) -> None:
    session.execute(
        text(
            "INSERT INTO cadres (township_code, code, name, phone) "
            "VALUES (:t, 'C1', '干部', :p)"
        ),
        {"t": TOWNSHIP, "p": PHONE},
    )
    session.commit()
    props = client.get(f"{BASE}/cadres/items/C1").json()["properties"]
    assert props["phone"] == "138****5678"


def test_other_township_is_not_visible(client: TestClient, session: Session) -> None:
    make_township(session, "620623102000", "别镇")
    body = client.get("/townships/620623102000/layers/households/items").json()
    assert body["numberMatched"] == 0


def test_patch_renames_a_household_and_keeps_its_rows(
    client: TestClient, session: Session, households: list[int]
) -> None:
    response = client.patch(
        f"{BASE}/households/items/H001",
        json={"properties": {"code": "H100", "members": 4}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "H100"
    assert client.get(f"{BASE}/households/items/H001").status_code == 404
    row = session.execute(
        text(
            "SELECT id, code, members, grid_id FROM households_assigned WHERE id = :id"
        ),
        {"id": households[0]},
    ).one()
    assert (row.code, row.members, row.grid_id is not None) == ("H100", 4, True)


def test_patch_refuses_a_taken_code_or_a_bad_value_and_keeps_the_old_code(
    client: TestClient, session: Session
) -> None:
    before = session.execute(text("SELECT households::text FROM households")).all()
    taken = client.patch(
        f"{BASE}/households/items/H001", json={"properties": {"code": "H002"}}
    )
    assert taken.status_code == 409
    assert taken.json()["errors"] == [
        {"feature": "H001", "field": "code", "reason": "code taken"}
    ]
    bad = client.patch(
        f"{BASE}/households/items/H001",
        json={"properties": {"code": "H100", "members": -1}},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "members"
    assert (
        session.execute(text("SELECT households::text FROM households")).all() == before
    )
