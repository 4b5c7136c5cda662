"""Vector tiles: decoded with mapbox-vector-tile, features and attributes checked."""

from __future__ import annotations

from typing import Any

import mapbox_vector_tile
import morecantile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.factories import (
    OTHER_TOWNSHIP,
    TOWNSHIP,
    make_grid,
    make_households,
    make_township,
    square,
)

TMS = morecantile.tms.get("WebMercatorQuad")
MVT = "application/vnd.mapbox-vector-tile"


@pytest.fixture
def data(session: Session) -> dict[str, Any]:
    make_township(session)
    make_township(session, OTHER_TOWNSHIP, "邻镇")
    make_grid(session, "G1", square(102.50, 37.10, 0.01), name="一网格")
    make_households(
        session, [(102.5031, 37.1031), (102.5032, 37.1032)], phone="1381234"
    )
    make_households(session, [(102.502, 37.102)], township=OTHER_TOWNSHIP, prefix="OT")
    hazard = session.execute(
        text(
            "INSERT INTO hazards (township_code, code, kind, severity, status, "
            "found_at, geom) VALUES (:t, 'HZ1', 'fire', 'high', 'rectifying', now(), "
            "ST_SetSRID(ST_MakePoint(102.503, 37.103), 4326)) RETURNING id"
        ),
        {"t": TOWNSHIP},
    ).scalar_one()
    session.commit()
    return {"hazard": hazard}


def tile_of(lon: float, lat: float, z: int) -> morecantile.Tile:
    return TMS.tile(lon, lat, z)


def decode(body: bytes) -> dict[str, Any]:
    return mapbox_vector_tile.decode(body)  # type: ignore[no-any-return]


@pytest.mark.parametrize("z", [12, 14, 16])
def test_household_tile(client: TestClient, data: Any, z: int) -> None:
    t = tile_of(102.50315, 37.10315, z)
    response = client.get(f"/ogc/tiles/{TOWNSHIP}.households/{z}/{t.x}/{t.y}.pbf")
    assert response.status_code == 200
    assert response.headers["content-type"] == MVT
    assert response.headers["cache-control"] == "private, max-age=60"
    layer = decode(response.content)["households"]
    props = sorted(f["properties"]["code"] for f in layer["features"])
    assert props == ["H001", "H002"]  # not the other township's household
    for feature in layer["features"]:
        assert "phone" not in feature["properties"]
        assert feature["geometry"]["type"] == "Point"


def test_hazard_and_grid_tiles_carry_status(client: TestClient, data: Any) -> None:
    t = tile_of(102.503, 37.103, 14)
    path = f"/ogc/collections/{TOWNSHIP}.hazards/tiles/WebMercatorQuad/14/{t.y}/{t.x}"
    feature = decode(client.get(path).content)["hazards"]["features"][0]
    assert feature["id"] == data["hazard"]
    assert feature["properties"] == {
        "code": "HZ1", "kind": "fire", "severity": "high", "status": "rectifying"
    }  # fmt: skip
    grid = client.get(f"/ogc/tiles/{TOWNSHIP}.grids/14/{t.x}/{t.y}.pbf")
    polygon = decode(grid.content)["grids"]["features"][0]
    assert polygon["properties"]["name"] == "一网格"
    assert polygon["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_etag_and_empty_tiles(client: TestClient, data: Any) -> None:
    t = tile_of(102.503, 37.103, 13)
    url = f"/ogc/tiles/{TOWNSHIP}.households/13/{t.x}/{t.y}.pbf"
    first = client.get(url)
    tag = first.headers["etag"]
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    far = tile_of(10.0, 10.0, 13)
    empty = client.get(f"/ogc/tiles/{TOWNSHIP}.households/13/{far.x}/{far.y}.pbf")
    assert empty.status_code == 204


def test_bad_tiles(client: TestClient, data: Any) -> None:
    assert client.get(f"/ogc/tiles/{TOWNSHIP}.households/3/8/0.pbf").status_code == 404
    assert client.get(f"/ogc/tiles/{TOWNSHIP}.households/30/0/0.pbf").status_code == 404
    assert client.get(f"/ogc/tiles/{TOWNSHIP}.households/a/0/0.pbf").status_code == 400
    assert client.get(f"/ogc/tiles/{TOWNSHIP}.roads/3/0/0.pbf").status_code == 404
    bad = client.get(f"/ogc/tiles/{TOWNSHIP}.households/3/0/0.pbf?x=1")
    assert bad.status_code == 400
    json = client.get(f"/ogc/tiles/{TOWNSHIP}.households/3/0/0.pbf?f=json")
    assert json.status_code == 406


def test_tile_metadata(client: TestClient, data: Any) -> None:
    sets = client.get("/ogc/tileMatrixSets").json()["tileMatrixSets"]
    assert [s["id"] for s in sets] == ["WebMercatorQuad"]
    tms = client.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    assert tms["id"] == "WebMercatorQuad" and len(tms["tileMatrices"]) >= 23
    tilesets = client.get(f"/ogc/collections/{TOWNSHIP}.hazards/tiles").json()
    template = next(
        lk["href"] for lk in tilesets["tilesets"][0]["links"] if lk["rel"] == "item"
    )
    assert template.endswith("/{tileMatrix}/{tileRow}/{tileCol}")
    links = client.get(f"/ogc/collections/{TOWNSHIP}.hazards").json()["links"]
    assert any(lk["rel"].endswith("tilesets-vector") for lk in links)


def test_visit_status_tiles_judge_at_datetime(
    client: TestClient, session: Session
) -> None:
    from tests.maps.factories_maps import AS_OF, PRIORITY, STATUS, build_map_township

    build_map_township(session)
    t = tile_of(102.03, 37.03, 10)  # one tile holds all eight households
    url = f"/ogc/tiles/{TOWNSHIP}.visit_status/10/{t.x}/{t.y}.pbf"
    when = AS_OF.isoformat().replace("+00:00", "Z")
    response = client.get(url, params={"datetime": when})
    assert response.status_code == 200, response.text
    features = decode(response.content)["visit_status"]["features"]
    props = {f["properties"]["code"]: f["properties"] for f in features}
    assert {c: p["status"] for c, p in props.items()} == STATUS
    assert {c for c, p in props.items() if p["priority"]} == PRIORITY
    assert props["H003"]["tags"] == "脱贫不稳定户"
    assert props["H001"]["cadre"] == "C1" and props["H001"]["members"] == 3
    assert all("phone" not in p and "head_name" not in p for p in props.values())
    # later, H008's visit after AS_OF counts; a period is no instant
    later = decode(client.get(url).content)["visit_status"]["features"]
    assert any(f["properties"]["status"] != STATUS[f["properties"]["code"]]
               for f in later)  # fmt: skip
    period = client.get(url, params={"datetime": f"{when}/.."})
    assert period.status_code == 400
