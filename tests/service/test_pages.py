"""One page envelope (Page[T] / FeaturePage) and an OpenAPI that types every answer."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis_service.core.pages import FeaturesPage, Page
from grids.assignment.schemas import UnassignedPage
from grids.visits.schemas import DemandOut
from tests.factories import TOWNSHIP, make_households, make_township
from tests.grids.factories_visits import make_town
from tests.grids.test_demands import raise_demand

BASE = f"/townships/{TOWNSHIP}"
PAGED = [
    "/townships/{township}/visits",
    "/townships/{township}/demands",
    "/townships/{township}/coverage/uncovered",
    "/townships/{township}/disputes",
    "/townships/{township}/disputes/findings",
    "/townships/{township}/assignment/unassigned",
    "/townships/{township}/layers/{layer}/items",
]


def _query(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def test_a_demand_page_counts_and_links(session: Session, client: TestClient) -> None:
    make_town(session)
    for household in ("H001", "H002", "H003"):
        raise_demand(session, household)
    first = client.get(f"{BASE}/demands", params={"limit": 2, "category": "employment"})
    assert first.status_code == 200
    page = Page[DemandOut].model_validate(first.json())
    assert (page.numberMatched, page.numberReturned, len(page.items)) == (3, 2, 2)
    assert [link.rel for link in page.links] == ["self", "next"]
    nxt = _query(page.links[1].href)
    assert nxt == {"category": ["employment"], "limit": ["2"], "offset": ["2"]}
    last = client.get(page.links[1].href).json()
    assert (last["numberMatched"], last["numberReturned"]) == (3, 1)
    assert [link["rel"] for link in last["links"]] == ["self", "prev"]
    assert _query(last["links"][1]["href"])["offset"] == ["0"]


def test_unassigned_is_a_typed_feature_page(
    session: Session, client: TestClient
) -> None:
    make_township(session)
    make_households(session, [(102.5, 37.1), (102.6, 37.2), (102.7, 37.3)])
    response = client.get(f"{BASE}/assignment/unassigned", params={"limit": 2})
    assert response.status_code == 200
    page = UnassignedPage.model_validate(response.json())
    assert (page.numberMatched, page.numberReturned) == (3, 2)
    assert [f.properties.code for f in page.features if f.properties] == [
        "H001",
        "H002",
    ]
    assert page.features[0].geometry is not None
    assert page.features[0].geometry.type == "Point"
    assert [link.rel for link in page.links] == ["self", "next"]
    assert "matched" not in response.json()["features"][0]["properties"]


def test_layer_items_validate_as_feature_page(
    session: Session, client: TestClient
) -> None:
    make_township(session)
    make_households(session, [(102.5, 37.1), (102.6, 37.2)])
    response = client.get(f"{BASE}/layers/households/items", params={"limit": 1})
    assert response.headers["content-type"] == "application/geo+json"
    page = FeaturesPage.model_validate(response.json())
    assert (page.numberMatched, page.numberReturned) == (2, 1)
    assert page.features[0].id == "H001"


# The OGC API routes (layers.ogc, landed in parallel) answer OGC documents, tiles
# and CQL2 results; typing them is left to that package (noted in issue 11).
NOT_YET_TYPED = ("/ogc",)


def test_openapi_types_every_response(app: FastAPI) -> None:
    """Every JSON answer has a schema (files are described by their media type)."""
    spec = app.openapi()
    untyped = [
        f"{method.upper()} {path} {code} {media}"
        for path, ops in spec["paths"].items()
        if not path.startswith(NOT_YET_TYPED)
        for method, op in ops.items()
        for code, answer in op["responses"].items()
        if code.startswith("2") and code != "204"
        for media, content in (answer.get("content") or {"-": {}}).items()
        if (media == "-" or "json" in media) and not content.get("schema")
    ]
    assert untyped == []


def test_every_paged_list_answers_one_envelope(app: FastAPI) -> None:
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    for path in PAGED:
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]
        (media,) = content
        ref = content[media]["schema"]["$ref"].rsplit("/", 1)[-1]
        members = set(schemas[ref]["properties"])
        assert {"numberMatched", "numberReturned", "links"} <= members, path
        assert ("features" if "geo+json" in media else "items") in members, path
        if path.endswith("/items"):
            assert media == "application/geo+json"
