"""OGC API – Features parameters, CQL2 and negotiation, in-process on tiny data."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from layers.ogc.params import LIMIT_MAX
from tests.factories import OTHER_TOWNSHIP, TOWNSHIP, make_households, make_township

PROBLEM = "application/problem+json"
AM = f"{OTHER_TOWNSHIP}.households"
HH = f"{TOWNSHIP}.households"


@pytest.fixture
def data(session: Session) -> dict[str, list[int]]:
    make_township(session)
    make_township(session, OTHER_TOWNSHIP, "日界线镇")
    near = make_households(
        session,
        [(102.50, 37.10), (102.51, 37.11), (102.52, 37.12), (102.90, 37.40)],
        tags=[["低保"], [], ["低保", "残疾"], []],
        phone="13812345678",
    )
    am = make_households(
        session,
        [(179.95, -17.5), (-179.95, -17.6), (10.0, -17.5)],
        township=OTHER_TOWNSHIP,
        prefix="AM",
    )
    return {"near": near, "am": am}


def items(client: TestClient, collection: str, **params: Any) -> Any:
    return client.get(f"/ogc/collections/{collection}/items", params=params)


def codes(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [f["properties"]["code"] for f in response.json()["features"]]


def assert_400(response: Any, field: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 400
    assert field in {e["field"] for e in response.json().get("errors", [])}


def test_landing_conformance_and_api(client: TestClient, data: Any) -> None:
    landing = client.get("/ogc/").json()
    rels = {link["rel"]: link for link in landing["links"]}
    assert rels["service-desc"]["type"].startswith("application/vnd.oai.openapi")
    assert {"conformance", "data", "service-doc"} <= rels.keys()
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf
    api = client.get("/ogc/api")
    assert api.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    params = {
        p["name"]: p
        for p in api.json()["paths"]["/collections/{collectionId}/items"]["get"][
            "parameters"
        ]
    }
    assert params["limit"]["schema"] == {
        "type": "integer", "minimum": 1, "maximum": LIMIT_MAX, "default": 100,
    }  # fmt: skip
    assert {"bbox", "datetime", "filter", "filter-lang", "crs", "village"} <= set(
        params
    )
    assert "phone" not in params  # personal data is not queryable


def test_collection_describes_extent_and_crs(client: TestClient, data: Any) -> None:
    doc = client.get(f"/ogc/collections/{HH}").json()
    assert doc["storageCrs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert "http://www.opengis.net/def/crs/EPSG/0/4490" in doc["crs"]
    assert "http://www.opengis.net/def/crs/EPSG/0/4554" in doc["crs"]
    assert doc["extent"]["spatial"]["bbox"] == [[102.5, 37.1, 102.9, 37.4]]
    queryables = client.get(f"/ogc/collections/{HH}/queryables")
    assert queryables.headers["content-type"] == "application/schema+json"
    props = queryables.json()["properties"]
    assert props["members"]["type"] == "integer" and "phone" not in props
    assert client.get(f"/ogc/collections/{TOWNSHIP}.nothing").status_code == 404
    assert client.get("/ogc/collections/999999999999.grids").status_code == 404


def test_unknown_and_repeated_parameters_are_400(client: TestClient, data: Any) -> None:
    assert_400(items(client, HH, limt=5), "limt")
    assert_400(client.get(f"/ogc/collections/{HH}/items?limit=1&limit=2"), "limit")
    assert_400(client.get("/ogc/collections?x=1"), "x")


def test_limit_is_clamped_with_a_correct_next(client: TestClient, data: Any) -> None:
    response = items(client, HH, limit=1_000_000_000)
    assert response.status_code == 200
    assert len(response.json()["features"]) == 4
    assert_400(items(client, HH, limit=0), "limit")
    assert_400(items(client, HH, limit="ten"), "limit")
    first = items(client, HH, limit=3, sortby="code").json()
    assert first["numberMatched"] == 4 and first["numberReturned"] == 3
    nxt = next(lk["href"] for lk in first["links"] if lk["rel"] == "next")
    assert "offset=3" in nxt and "limit=3" in nxt
    second = client.get(nxt).json()
    assert [f["properties"]["code"] for f in second["features"]] == ["H004"]
    assert not [lk for lk in second["links"] if lk["rel"] == "next"]
    assert [lk for lk in second["links"] if lk["rel"] == "prev"]


def test_clamped_next_uses_the_maximum(client: TestClient, data: Any) -> None:
    from layers.ogc.params import parse_limit

    assert parse_limit(str(LIMIT_MAX + 1)) == LIMIT_MAX


@pytest.mark.parametrize(
    ("bbox", "expected"),
    [
        ("179.9,-18,-179.9,-17", ["AM001", "AM002"]),  # crosses the antimeridian
        ("179.9,-18,180,-17", ["AM001"]),
        ("-180,-18,-179.9,-17", ["AM002"]),
        ("0,-18,0,20,-17,0", ["AM003"]),  # 6 numbers: heights ignored
        ("-180,-90,180,90", ["AM001", "AM002", "AM003"]),
    ],
)
def test_bbox(client: TestClient, data: Any, bbox: str, expected: list[str]) -> None:
    assert codes(items(client, AM, bbox=bbox, sortby="code")) == expected


@pytest.mark.parametrize(
    "bbox", ["1,2,3", "1,2,3,4,5", "0,-91,1,0", "0,10,1,5", "a,b,c,d", "0,0,1,nan"]
)
def test_bad_bbox_is_400(client: TestClient, data: Any, bbox: str) -> None:
    assert_400(items(client, AM, bbox=bbox), "bbox")


def test_bbox_crs_and_output_crs(client: TestClient, data: Any) -> None:
    # EPSG:4326 lists latitude first, for the bbox and for the output.
    epsg4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
    response = items(client, HH, bbox="37.05,102.45,37.115,102.515", **{
        "bbox-crs": epsg4326, "crs": epsg4326, "sortby": "code"})  # fmt: skip
    assert codes(response) == ["H001", "H002"]
    assert response.json()["features"][0]["geometry"]["coordinates"] == [37.1, 102.5]
    assert response.headers["content-crs"] == f"<{epsg4326}>"
    assert_400(items(client, HH, crs="EPSG:3857"), "crs")
    assert_400(items(client, HH, **{"bbox-crs": "urn:nothing"}), "bbox-crs")


def test_datetime_parameter(client: TestClient, data: Any) -> None:
    for value in (
        "2024-01-01T00:00:00Z",
        "2024-01-01",
        "../2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00+08:00/..",
        "2024-01-01/",
        "/2024-02-01",
    ):
        assert items(client, HH, datetime=value).status_code == 200, value
    for value in (
        "yesterday",
        "2024-02-01/2024-01-01",
        "2024-01-01T00:00:00",
        "2024-13-01",
        "a/b/c",
        "",
    ):
        assert_400(items(client, HH, datetime=value), "datetime")  # fmt: skip


def test_property_filters_properties_and_sortby(client: TestClient, data: Any) -> None:
    assert codes(items(client, HH, tags="低保", sortby="-code")) == ["H003", "H001"]
    assert_400(items(client, HH, members="three"), "members")
    picked = items(client, HH, properties="code,phone", limit=1).json()["features"][0]
    assert picked["properties"] == {"code": "H001", "phone": "138****5678"}
    assert_400(items(client, HH, properties="code,nope"), "properties")
    assert_400(items(client, HH, sortby="phone"), "sortby")  # personal: not sortable
    # an empty sortby asks for no order (it was a 500: ORDER BY an empty name)
    assert items(client, HH, sortby="").status_code == 200
    assert_400(items(client, HH, sortby="code,,members"), "sortby")
    assert_400(items(client, HH, sortby="-"), "sortby")


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("cql2-text", "code = 'H002'", ["H002"]),
        ("cql2-text", "code <> 'H002' AND members >= 3", ["H001", "H003", "H004"]),
        ("cql2-text", "code LIKE 'H00_'", ["H001", "H002", "H003", "H004"]),
        ("cql2-text", "code IN ('H001', 'H004')", ["H001", "H004"]),
        ("cql2-text", "NOT code IN ('H001', 'H004')", ["H002", "H003"]),
        ("cql2-text", "id BETWEEN 0 AND 0", []),
        ("cql2-text", "tags = '残疾'", ["H003"]),
        ("cql2-text", "village IS NULL AND code = 'H001'", ["H001"]),
        ("cql2-text", "S_INTERSECTS(geometry, BBOX(102.49, 37.09, 102.515, 37.115))",
         ["H001", "H002"]),
        ("cql2-text",
         "S_WITHIN(geometry, POLYGON((102 37, 103 37, 103 37.3, 102 37.3, 102 37)))",
         ["H001", "H002", "H003"]),
        ("cql2-json", '{"op": "=", "args": [{"property": "code"}, "H003"]}', ["H003"]),
        ("cql2-json", '{"op": "s_intersects", "args": [{"property": "geometry"}, '
         '{"type": "Point", "coordinates": [102.9, 37.4]}]}', ["H004"]),
        # an injection attempt in a value is just a value (bound parameter)
        ("cql2-text", "code = 'x; DROP TABLE households; --'", []),
    ],
)  # fmt: skip
def test_cql2(
    client: TestClient, data: Any, lang: str, text: str, expected: list[str]
) -> None:
    response = items(client, HH, filter=text, **{"filter-lang": lang}, sortby="code")
    assert codes(response) == expected
    assert response.json()["numberMatched"] == len(expected)


@pytest.mark.parametrize(
    "text",
    [
        "code = ",  # syntax
        "codes = 'x'",  # unknown property
        "phone = '13812345678'",  # personal data is not queryable
        '"code; DROP TABLE households" = 1',  # a name is never SQL
        "members = 'three'",  # type mismatch, refused before PostgreSQL
        "code = 3",
        "code LIKE 3",
        "pg_sleep(5) = 1",
        "members + 1 = 4",
        "S_INTERSECTS(code, POINT(1 1))",
        "T_BEFORE(code, TIMESTAMP('2020-01-01T00:00:00Z'))",
        "code",
        "NOT " * 3000 + "code = 'x'",  # deeper than any sane filter
        "code = '" + "x" * 30_000 + "'",  # longer than the limit
        "code = 'H001'' OR ''1''=''1'",  # the parser refuses doubled quotes
        "code = 'H001\\' OR 1=1 --'",
    ],
)
def test_bad_cql2_is_400(client: TestClient, data: Any, text: str) -> None:
    assert_400(items(client, HH, filter=text), "filter")


def test_bad_filter_lang_and_json(client: TestClient, data: Any) -> None:
    assert_400(items(client, HH, filter="x", **{"filter-lang": "sql"}), "filter-lang")
    bad_json = items(client, HH, filter="{not json", **{"filter-lang": "cql2-json"})
    assert_400(bad_json, "filter")


def test_negotiation(client: TestClient, data: Any) -> None:
    url = f"/ogc/collections/{HH}/items"
    assert client.get(url).headers["content-type"] == "application/geo+json"
    html = client.get(url, headers={"Accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html")
    assert "H001" in html.text
    assert (
        client.get(url, params={"f": "html"})
        .headers["content-type"]
        .startswith("text/html")
    )
    for response in (
        client.get(url, headers={"Accept": "application/xml"}),
        client.get(url, params={"f": "xml"}),
        client.get("/ogc/collections", headers={"Accept": "image/png"}),
    ):
        assert response.status_code == 406
        assert response.headers["content-type"] == PROBLEM
    for page in ("/ogc/", "/ogc/collections", f"/ogc/collections/{HH}",
                 f"/ogc/collections/{HH}/queryables", "/ogc/conformance"):  # fmt: skip
        response = client.get(page, params={"f": "html"})
        assert response.status_code == 200, page
        assert "<script>" not in response.text


def test_single_feature(client: TestClient, data: Any) -> None:
    fid = data["near"][0]
    response = client.get(f"/ogc/collections/{HH}/items/{fid}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == fid and body["properties"]["phone"] == "138****5678"
    assert {lk["rel"] for lk in body["links"]} == {"self", "collection"}
    # another township's household is not in this collection
    other = data["am"][0]
    assert client.get(f"/ogc/collections/{HH}/items/{other}").status_code == 404
    assert client.get(f"/ogc/collections/{HH}/items/abc").status_code == 404


def test_other_routes_keep_422(client: TestClient, data: Any) -> None:
    response = client.get(f"/townships/{TOWNSHIP}/layers/households/items", params={
        "limit": 0})  # fmt: skip
    assert response.status_code == 422


_SPREAD = {  # enough rows spread wide that a small bbox is selective
    "households": "INSERT INTO households (township_code, code, head_name, geom) "
    "SELECT :t, 'S' || i, 'x', {point} FROM generate_series(1, 5000) i",
    "hazards": "INSERT INTO hazards (township_code, code, kind, found_at, geom) "
    "SELECT :t, 'S' || i, 'fire', now(), {point} FROM generate_series(1, 5000) i",
    "grids": "INSERT INTO grids (township_code, code, name, level, geom) "
    "SELECT :t, 'S' || i, 'x', 'grid', ST_Multi(ST_Expand({point}, 0.01)) "
    "FROM generate_series(1, 5000) i",
}
_POINT = "ST_SetSRID(ST_MakePoint(95 + (i % 100) * 0.1, 30 + (i / 100) * 0.1), 4326)"


@pytest.mark.parametrize("kind_name", list(_SPREAD))
def test_bbox_filter_uses_the_gist_index(
    session: Session, data: Any, kind_name: str
) -> None:
    from sqlalchemy import select, text
    from sqlalchemy.dialects import postgresql

    from layers.ogc.collections import KINDS
    from layers.ogc.params import BBox, ItemsQuery
    from layers.ogc.service import where_clauses

    session.execute(text(_SPREAD[kind_name].format(point=_POINT)), {"t": TOWNSHIP})
    table = KINDS[kind_name].extent_of
    session.execute(text(f"ANALYZE {table}"))
    kind = KINDS[kind_name]
    t = kind.source(TOWNSHIP, session)
    query = ItemsQuery(bbox=BBox(102.4, 37.0, 102.6, 37.2))
    statement = select(t.c.id).where(*where_clauses(kind, t, query))
    sql = statement.compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    plan = "\n".join(r[0] for r in session.execute(text(f"EXPLAIN {sql}")))
    assert "geom_idx" in plan or "_geom" in plan, plan
    assert "Index" in plan, plan


def _gk_polygon(west: float, south: float, east: float, north: float) -> str:
    """A lon/lat box as a WKT polygon in CGCS2000 3° GK CM 102E, northing first."""
    from pyproj import Transformer

    to_gk = Transformer.from_crs(4326, 4543, always_xy=True)
    corners = [(west, south), (east, south), (east, north), (west, north)]
    ring = [to_gk.transform(lon, lat) for lon, lat in corners]
    ring.append(ring[0])
    return "POLYGON((" + ", ".join(f"{n:.3f} {e:.3f}" for e, n in ring) + "))"


@pytest.mark.parametrize(
    ("crs", "text", "expected"),
    [
        # Gauss–Krüger (metres, northing first): the box around H001 and H002
        ("EPSG:4543",
         f"S_INTERSECTS(geometry, {_gk_polygon(102.49, 37.09, 102.515, 37.115)})",
         ["H001", "H002"]),
        ("http://www.opengis.net/def/crs/EPSG/0/4543",
         f"S_WITHIN(geometry, {_gk_polygon(102.49, 37.09, 102.53, 37.13)})",
         ["H001", "H002", "H003"]),
        # EPSG:4326 and CGCS2000 geographic are lat/lon: the axes are flipped
        ("EPSG:4326", "S_INTERSECTS(geometry, POINT(37.4 102.9))", ["H004"]),
        ("EPSG:4326", "S_INTERSECTS(geometry, POINT(102.9 37.4))", []),
        ("EPSG:4326", "S_INTERSECTS(geometry, BBOX(37.09, 102.49, 37.115, 102.515))",
         ["H001", "H002"]),
        ("EPSG:4490", "S_INTERSECTS(geometry, POINT(37.4 102.9))", ["H004"]),
        # the default, said out loud
        ("OGC:CRS84", "S_INTERSECTS(geometry, POINT(102.9 37.4))", ["H004"]),
    ],
)  # fmt: skip
def test_filter_crs_transforms_the_literal(
    client: TestClient, data: Any, crs: str, text: str, expected: list[str]
) -> None:
    response = items(client, HH, filter=text, sortby="code", **{"filter-crs": crs})
    assert codes(response) == expected
    assert response.json()["numberMatched"] == len(expected)


@pytest.mark.parametrize("crs", ["EPSG:3857", "EPSG:4555", "EPSG:abc", "urn:x"])
def test_unknown_filter_crs_is_400(client: TestClient, data: Any, crs: str) -> None:
    response = items(client, HH, filter="code = 'H001'", **{"filter-crs": crs})
    assert_400(response, "filter-crs")
