"""No response of any kind carries an unmasked ID number or phone.

Every GET in the OpenAPI (lists at their largest page), every export format (zip
members unpacked), the HTML maps, and the route planners are called on the demo
township; each body is searched for every stored households.id_number/phone and
cadres.phone.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import morecantile
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gis_service.app.main import create_app
from gis_service.core.privacy import mask_id_number, mask_phone
from layers.io.export import FORMATS
from layers.io.specs import LAYERS
from layers.ogc.collections import KINDS
from layers.ogc.tiles import TILE_PROPS
from tests.conftest import bearer_for
from tests.service.conftest import DEMO_TOWNSHIP

BASE = f"/townships/{DEMO_TOWNSHIP}"
PERSONAL = """
SELECT id_number FROM households WHERE township_code = :t AND id_number IS NOT NULL
UNION SELECT phone FROM households WHERE township_code = :t AND phone IS NOT NULL
UNION SELECT phone FROM cadres WHERE township_code = :t AND phone IS NOT NULL
"""


def secrets(engine: Engine) -> set[str]:
    """Stored personal values long enough to be searched for without noise."""
    with engine.connect() as conn:
        values = conn.execute(text(PERSONAL), {"t": DEMO_TOWNSHIP}).scalars()
        return {v for v in values if len(v) >= 7 and "*" not in v}


def first(engine: Engine, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), {"t": DEMO_TOWNSHIP}).scalar_one()


def _a_job(engine: Engine) -> int:
    """A finished job of the demo township whose result names households."""
    with engine.begin() as conn:
        return int(
            conn.execute(
                text(
                    "INSERT INTO jobs (township_code, kind, status, result) "
                    "SELECT :t, 'import', 'succeeded', jsonb_build_object("
                    "'codes', jsonb_agg(code)) FROM households "
                    "WHERE township_code = :t "
                    "RETURNING id"
                ),
                {"t": DEMO_TOWNSHIP},
            ).scalar_one()
        )


def get_urls(engine: Engine) -> list[str]:
    """Every GET of the OpenAPI with real path values, at the largest page."""
    values = {
        "township": DEMO_TOWNSHIP,
        "layer": None,
        "cadre": first(engine, "SELECT min(code) FROM cadres WHERE township_code = :t"),
        "demand_id": first(
            engine, "SELECT min(id) FROM demands WHERE township_code = :t"
        ),
        "dispute_id": first(
            engine, "SELECT min(id) FROM disputes WHERE township_code = :t"
        ),
        "job_id": _a_job(engine),
        "code": first(engine, "SELECT min(code) FROM hazards WHERE township_code = :t"),
    }
    lon, lat = first(
        engine,
        "SELECT ARRAY[ST_X(geom), ST_Y(geom)] FROM households "
        "WHERE township_code = :t ORDER BY id LIMIT 1",
    )
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 12)
    values |= {
        "collectionId": f"{DEMO_TOWNSHIP}.households",
        "featureId": first(
            engine, "SELECT min(id) FROM households WHERE township_code = :t"
        ),
        "z": 12, "x": tile.x, "y": tile.y,
        "tileMatrix": 12, "tileRow": tile.y, "tileCol": tile.x,
    }  # fmt: skip
    urls = ["/"]
    # Every OGC collection (cadres carry phones too) and a tile of each tiled one.
    for kind in KINDS:
        urls.append(f"/ogc/collections/{DEMO_TOWNSHIP}.{kind}/items?limit=10000")
        urls.append(f"/ogc/collections/{DEMO_TOWNSHIP}.{kind}/items?f=html&limit=10000")
    for kind in TILE_PROPS:
        urls.append(f"/ogc/tiles/{DEMO_TOWNSHIP}.{kind}/12/{tile.x}/{tile.y}.pbf")
    for path, ops in create_app().openapi()["paths"].items():
        if "get" not in ops or "{layer}" in path:
            continue
        params = {p["name"] for p in ops["get"].get("parameters", [])}
        url = path.format(**values)
        urls.append(url + ("?limit=10000" if "limit" in params else ""))
    for layer, spec in LAYERS.items():
        urls.append(f"{BASE}/layers/{layer}/items?limit=10000")
        code = first(
            engine,
            f"SELECT min({spec.key}) FROM {spec.table} WHERE township_code = :t",
        )
        if code is not None:
            urls.append(f"{BASE}/layers/{layer}/items/{code}")
        urls += [f"{BASE}/layers/{layer}/export?format={fmt}" for fmt in FORMATS]
    return urls


def body_texts(content: bytes) -> list[bytes]:
    """The body, and each member of it when it is a zip (shapefile exports)."""
    if content.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return [archive.read(name) for name in archive.namelist()]
    return [content]


def leaks(content: bytes, personal: set[str]) -> set[str]:
    found = set()
    for part in body_texts(content):
        found |= {v for v in personal if v.encode() in part}
    return found


@pytest.fixture
def demo_client(demo_app: FastAPI) -> Any:
    headers = bearer_for(demo_app.state.engine)
    with TestClient(demo_app, raise_server_exceptions=False, headers=headers) as client:
        yield client


def test_no_get_response_carries_unmasked_personal_data(
    demo_client: TestClient, demo_engine: Engine
) -> None:
    personal = secrets(demo_engine)
    assert len(personal) > 100  # the demo has 120 households and their cadres
    checked = 0
    for url in get_urls(demo_engine):
        response = demo_client.get(url)
        empty_tile = url.endswith(".pbf") and response.status_code == 204
        no_file = url.endswith("/output") and response.status_code == 404  # a job
        assert response.status_code == 200 or empty_tile or no_file, (  # with none
            url, response.text[:300],
        )  # fmt: skip
        assert leaks(response.content, personal) == set(), url
        checked += 1
    assert checked > 40


def test_route_planners_carry_no_unmasked_personal_data(
    demo_client: TestClient, demo_engine: Engine
) -> None:
    personal = secrets(demo_engine)
    cadre = first(demo_engine, "SELECT min(code) FROM cadres WHERE township_code = :t")
    grid = first(
        demo_engine,
        "SELECT g.code FROM grids g JOIN cadres c ON c.township_code = g.township_code"
        " AND c.home_grid_id = g.id WHERE g.township_code = :t ORDER BY 1 LIMIT 1",
    )
    calls = [
        (f"{BASE}/visit-routes", {"cadre": cadre, "time_limit_s": 0.2}),
        (f"{BASE}/grids/{grid}/day-plan", {"time_limit_s": 0.2}),
    ]
    for url, body in calls:
        response = demo_client.post(url, json=body)
        assert response.status_code == 200, (url, response.text[:300])
        assert leaks(response.content, personal) == set(), url


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("620123199001011234", "620123********1234"),
        ("620123900101123", "620123*****1123"),  # old 15-digit number
        # these used to come back whole or nearly so
        ("1234", "****"),
        ("12345678901", "12*******01"),
        ("1234567", "*******"),
    ],
)
def test_short_id_numbers_are_not_shown_whole(value: str, masked: str) -> None:
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("09351234", "******34"),  # 093*1234 before
        ("12", "**"),  # "12" before
        ("1234", "****"),
    ],
)
def test_short_phones_are_not_shown_whole(value: str, masked: str) -> None:
    assert mask_phone(value) == masked
