"""GDAL's OAPIF driver as the real client of /ogc, over HTTP against uvicorn."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import httpx
import pytest

from layers.ogc.collections import KINDS
from tests.factories import OTHER_TOWNSHIP
from tests.layers.ogc_server import DEMO, DEMO_HOUSEHOLDS, Server, ogc_server

__all__ = ["ogc_server"]

pytestmark = pytest.mark.skipif(
    shutil.which("ogr2ogr") is None, reason="gdal-bin is not installed (make system)"
)


def gdal(
    server: Server, *args: str, debug: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run an OGR utility; the HTTP log is on stderr when ``debug``."""
    env = {**os.environ, **server.gdal_env, "CPL_DEBUG": "ON" if debug else "OFF"}
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def read_all(
    server: Server, url: str, *options: str, debug: bool = False
) -> tuple[list[Any], str]:
    """Every feature GDAL reads from ``url`` (as GeoJSON), and its HTTP log."""
    done = gdal(
        server,
        "ogr2ogr", "-f", "GeoJSON", "/vsistdout/", f"OAPIF:{url}",
        "-oo", "PAGE_SIZE=40", "-preserve_fid", *options, debug=debug,
    )  # fmt: skip
    return json.loads(done.stdout)["features"], done.stderr


def matched(server: Server, collection: str, **params: Any) -> int:
    """numberMatched as the server reports it for one page."""
    response = httpx.get(
        f"{server.base}/collections/{collection}/items",
        params={"limit": 1, **params},
        headers=server.headers,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return int(response.json()["numberMatched"])


def test_gdal_lists_every_collection_of_every_township(ogc_server: Server) -> None:
    done = gdal(ogc_server, "ogrinfo", "-ro", "-so", "-q", f"OAPIF:{ogc_server.base}")
    listed = {
        line.split(":", 1)[1].split("(")[0].strip()
        for line in done.stdout.splitlines()
        if ":" in line
    }
    expected = {f"{t}.{k}" for t in (DEMO, OTHER_TOWNSHIP) for k in KINDS}
    assert listed == expected


@pytest.mark.parametrize("kind", list(KINDS))
def test_gdal_reads_every_feature_following_next(ogc_server: Server, kind: str) -> None:
    collection = f"{DEMO}.{kind}"
    features, log = read_all(
        ogc_server, f"{ogc_server.base}/collections/{collection}", debug=True
    )
    expected = matched(ogc_server, collection)
    assert expected > 0
    assert len(features) == expected
    assert len({f["id"] for f in features}) == expected
    if expected > 40:  # more than one page: GDAL followed our next links
        assert "offset=40" in log


def test_households_count_and_masking_through_gdal(ogc_server: Server) -> None:
    features, _ = read_all(
        ogc_server, f"{ogc_server.base}/collections/{OTHER_TOWNSHIP}.households"
    )
    assert len(features) == 3
    assert {f["properties"]["phone"] for f in features} == {"138****5678"}
    assert {f["properties"]["id_number"] for f in features} == {"620123********1234"}
    demo, _ = read_all(ogc_server, f"{ogc_server.base}/collections/{DEMO}.households")
    assert len(demo) == DEMO_HOUSEHOLDS


def test_gdal_forwards_bbox_and_attribute_filter(ogc_server: Server) -> None:
    collection = f"{DEMO}.households"
    sample = httpx.get(
        f"{ogc_server.base}/collections/{collection}/items",
        params={"limit": 1},
        headers=ogc_server.headers,
    ).json()["features"][0]
    village = sample["properties"]["village"]
    lon, lat = sample["geometry"]["coordinates"]
    bbox = (lon - 0.2, lat - 0.2, lon + 0.2, lat + 0.2)
    features, log = read_all(
        ogc_server,
        f"{ogc_server.base}/collections/{collection}",
        "-spat", *map(str, bbox), "-where", f"village = '{village}'",
        debug=True,
    )  # fmt: skip
    assert "bbox=" in log and "village=" in log  # evaluated by the server
    bbox_param = ",".join(f"{v:.15g}" for v in bbox)
    expected = matched(ogc_server, collection, bbox=bbox_param, village=village)
    assert 0 < len(features) == expected
    assert all(f["properties"]["village"] == village for f in features)


def test_gdal_reads_projected_crs(ogc_server: Server) -> None:
    """CGCS2000 3° GK zone 34 (EPSG:4522): metres, northing first on the wire."""
    response = httpx.get(
        f"{ogc_server.base}/collections/{DEMO}.hazards/items",
        params={"crs": "http://www.opengis.net/def/crs/EPSG/0/4522", "limit": 1},
        headers=ogc_server.headers,
    )
    assert response.status_code == 200
    assert response.headers["content-crs"] == (
        "<http://www.opengis.net/def/crs/EPSG/0/4522>"
    )
    north, east = response.json()["features"][0]["geometry"]["coordinates"]
    assert 4_000_000 < north < 4_200_000 and 34_000_000 < east < 35_000_000
