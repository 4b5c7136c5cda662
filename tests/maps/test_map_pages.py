"""The map endpoints over HTTP: HTML, masking, errors, the local asset route."""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis_service.core.settings import MapSettings
from maps import service
from tests.factories import OTHER_TOWNSHIP, TOWNSHIP, make_township
from tests.maps.factories_maps import AS_OF, ID_NUMBER, PHONE, build_map_township

PROBLEM = "application/problem+json"


def js(text: str) -> str:
    """``text`` as folium's ``tojson`` writes it into the page's script."""
    out = json.dumps(text)[1:-1]
    for char, code in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("'", "\\u0027"),
    ):
        out = out.replace(char, code)
    return out


def test_coverage_page_is_html_with_local_assets_and_masked_data(
    client: TestClient, session: Session
) -> None:
    build_map_township(session)
    response = client.get(
        f"/townships/{TOWNSHIP}/maps/coverage",
        params={"basemap": "none", "as_of": AS_OF.isoformat()},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    # each script carries the response's CSP nonce
    nonce = response.headers["content-security-policy"].split("'nonce-")[1][:22]
    assert (
        f'<script nonce="{nonce}" src="/static/maps/vendor/leaflet/leaflet.js">' in page
    )
    assert "cdn.jsdelivr.net" not in page and "cdnjs.cloudflare.com" not in page
    assert PHONE not in page and ID_NUMBER not in page
    assert "138****5678" in page
    assert js("农户: 从未走访 (2)") in page


def test_coverage_page_fetches_its_dispute_overlaps_when_asked(
    client: TestClient, session: Session
) -> None:
    """The served page carries the overlaps' URL, not the overlaps (nor a count)."""
    township = build_map_township(session)
    base = f"/townships/{TOWNSHIP}/maps/coverage"
    page = client.get(base, params={"basemap": "none"}).text
    assert js("争议重叠区 (…)") in page and js(f"{base}/disputes") in page
    assert "P1 / P2" not in page and js("查看并处理争议") not in page
    answer = client.get(f"{base}/disputes")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/geo+json"
    (feature,) = answer.json()["features"]
    assert feature["id"] == township.dispute
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    props = feature["properties"]
    assert "P1 / P2" in props["popup_html"] and "亩" in props["popup_html"]
    assert f"/w/{TOWNSHIP}/disputes/{township.dispute}" in props["popup_html"]
    assert props["tip_html"] == f"争议 #{township.dispute} (待调处)"
    english = client.get(f"{base}/disputes", params={"lang": "en"}).json()
    assert "Overlap" in english["features"][0]["properties"]["popup_html"]
    # a grid's page asks for its subtree's; a map file (no server) carries them
    grid = client.get(base, params={"basemap": "none", "grid": "A"}).text
    assert js(f"{base}/disputes?grid=A") in grid
    sub = client.get(f"{base}/disputes", params={"grid": "A"}).json()
    carried = service.coverage_data(session, township=TOWNSHIP, grid="A").disputes
    assert len(sub["features"]) == len(carried["features"])
    assert client.get(f"{base}/disputes?grid=NOPE").status_code == 404


def test_coverage_page_errors_are_problem_json(
    client: TestClient, session: Session
) -> None:
    build_map_township(session)
    cases = [
        (f"/townships/{TOWNSHIP}/maps/coverage?grid=NOPE", 404, "NOPE"),
        (f"/townships/{TOWNSHIP}/maps/coverage?basemap=google", 422, "google"),
        (
            f"/townships/{TOWNSHIP}/maps/coverage?basemap=tianditu",
            422,
            "天地图底图需要密钥",
        ),
        (f"/townships/{TOWNSHIP}/maps/routes/C9", 404, "C9"),
        (f"/townships/{TOWNSHIP}/maps/disputes/999999", 404, "999999"),
    ]
    for url, status, needle in cases:
        response = client.get(url)
        assert (response.status_code, response.headers["content-type"]) == (
            status,
            PROBLEM,
        ), url
        assert needle in response.json()["detail"]


def test_maps_are_scoped_by_township(client: TestClient, session: Session) -> None:
    township = build_map_township(session)
    make_township(session, OTHER_TOWNSHIP, "邻镇")
    other = f"/townships/{OTHER_TOWNSHIP}/maps"
    assert client.get(f"{other}/disputes/{township.dispute}").status_code == 404
    assert client.get(f"{other}/routes/C1").status_code == 404
    assert client.get(f"{other}/coverage?grid=A").status_code == 404
    page = client.get(f"{other}/coverage?basemap=none").text
    assert js("农户: 从未走访 (0)") in page and "HZ1" not in page


def test_route_and_dispute_pages(client: TestClient, session: Session) -> None:
    township = build_map_township(session)
    route = client.get(
        f"/townships/{TOWNSHIP}/maps/routes/C1",
        params={"basemap": "none", "as_of": AS_OF.isoformat()},
    )
    assert route.status_code == 200
    assert route.text.count(js("<div class='gridgis-stop'>")) == 3  # the due ones
    assert js("data-length-m") in route.text and js("精确求解") in route.text
    assert "held-karp" not in route.text
    dispute = client.get(f"/townships/{TOWNSHIP}/maps/disputes/{township.dispute}")
    assert dispute.status_code == 200
    assert ID_NUMBER not in dispute.text and PHONE not in dispute.text
    assert "138****5678" in dispute.text
    assert js("重叠") in dispute.text and js("亩") in dispute.text


def test_asset_route_serves_vendored_files_only(client: TestClient) -> None:
    response = client.get("/static/maps/vendor/leaflet/leaflet.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert b"Leaflet" in response.content[:400]
    assert (
        client.get(
            "/static/maps/vendor/fontawesome/webfonts/fa-solid-900.woff2"
        ).status_code
        == 200
    )
    for bad in ("/static/maps/../assets.py", "/static/maps/vendor/nope.js"):
        response = client.get(bad)
        assert response.status_code == 404, bad


def test_cdn_setting_links_the_cdn(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    build_map_township(session)
    app.state.settings = app.state.settings.model_copy(
        update={"map": MapSettings(assets="cdn", basemap="none")}
    )
    page = client.get(f"/townships/{TOWNSHIP}/maps/coverage").text
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js" in page


def test_coverage_page_switches_to_vector_tiles_only_where_they_work(
    session: Session,
) -> None:
    from maps.service import coverage_page

    build_map_township(session)
    small = MapSettings(vector_tiles_above=3)  # the township has 8 households

    def page(**kw: object) -> str:
        return coverage_page(
            session, township=TOWNSHIP, settings=small, as_of=AS_OF, **kw
        )

    served = page(basemap="none", tiles_base="/ogc")
    assert "L.vectorGrid.protobuf" in served and "= L.gridgisHouseholds(" not in served
    assert "/static/maps/vendor/vectorgrid/Leaflet.VectorGrid.bundled.min.js" in served
    template = f"/ogc/tiles/{TOWNSHIP}.visit_status/{{z}}/{{x}}/{{y}}.pbf"
    assert js(template + "?datetime=2025-06-01T12%3A00%3A00Z") in served
    assert PHONE not in served and "H005" not in served  # no household in the page
    assert js("从未走访 2") in served  # the legend still counts them (status_tally)
    # a file written for offline use, or AMap's GCJ-02 basemap: households inline
    for inline in (page(basemap="none"), page(basemap="amap", tiles_base="/ogc")):
        assert "L.vectorGrid" not in inline and "= L.gridgisHouseholds(" in inline


def test_basemap_is_an_enum_in_the_openapi(client: TestClient) -> None:
    from maps.render.basemaps import BASEMAPS

    path = client.get("/openapi.json").json()["paths"][
        "/townships/{township}/maps/disputes/{dispute_id}"
    ]
    (basemap,) = (p for p in path["get"]["parameters"] if p["name"] == "basemap")
    assert basemap["schema"]["enum"] == list(BASEMAPS)


def test_maps_in_english_name_their_layers_legend_and_popups_in_english(
    client: TestClient, session: Session
) -> None:
    township = build_map_township(session)
    params = {"basemap": "none", "as_of": AS_OF.isoformat()}
    coverage = client.get(
        f"/townships/{TOWNSHIP}/maps/coverage", params={**params, "lang": "en"}
    )
    assert coverage.status_code == 200
    assert "gridgis_lang=en" in coverage.headers["set-cookie"]
    page = coverage.text
    for words in (
        "Households: Never visited (2)",  # a layer's name
        "Grid visit coverage",  # the legend
        "Grid borders: Grid",
        "Hazards · Found (1)",
        '"code":"Household code"',  # the households' popup, for the script
    ):
        assert js(words) in page or words in page, words
    # the cookie carries the choice to the other maps
    route = client.get(f"/townships/{TOWNSHIP}/maps/routes/C1", params=params).text
    assert js("Visit order (3)") in route and js("exact") in route
    dispute = client.get(f"/townships/{TOWNSHIP}/maps/disputes/{township.dispute}").text
    assert js("Overlap") in dispute and "mu)" in dispute
    data = ("测试镇", "户主", "干部")  # the factories' names: data, not words
    for text in (page, route, dispute):
        for word in data:
            text = text.replace(word, "")
        left = [
            text[max(0, i - 40) : i + 10]
            for i, c in enumerate(text)
            if "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f"
        ]
        assert not left, left[:5]
    client.cookies.clear()
    chinese = client.get(f"/townships/{TOWNSHIP}/maps/coverage", params=params)
    assert js("农户: 从未走访 (2)") in chinese.text
