"""schemathesis over the whole OpenAPI, as a client would: every check, every phase.

``schemathesis run --checks all`` (status codes, content types, response
schemas, negative data rejected, positive data accepted, ...) with the
examples, coverage, fuzzing and stateful phases and both positive and negative
data, against ``gridgis serve`` on a scratch database holding a demo township,
which is pinned as the ``township`` path parameter so requests reach real data,
as are an OGC collection, a household and a finished job for their routes.
The request carries the test admin's bearer token. Rules the schema cannot state
(across fields, against stored data) are listed below with the operations where
a 422 answers valid-looking data; everything else the service refuses is stated
in the OpenAPI. 0 failures, about 2 minutes with 8 examples per operation: in
``make test`` (marked slow; ``GRIDGIS_CONTRACT_EXAMPLES`` explores more).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from gis_service.app.demo.load import load_demo
from gis_service.app.jobs import register_handlers
from gis_service.core import jobs
from gis_service.core.db import make_engine
from tests.conftest import (
    TEST_ADMIN,
    TEST_SECRET,
    bearer_for,
    drop_database,
    migrated_database,
)
from tests.service.conftest import DEMO_TOWNSHIP

BIN = Path(sys.executable).parent
EXAMPLES = os.environ.get("GRIDGIS_CONTRACT_EXAMPLES", "8")
HOOKS = Path(__file__).with_name("contract_hooks.py")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "contract"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def contract_engine(server_url: URL) -> Iterator[Engine]:
    """A demo township of its own: the run writes (visits, demands, detections),
    which the shared ``demo_engine``'s readers (the CLI smoke lists) must not see.
    It holds one finished job with a file (a coverage map), for the job routes."""
    url = migrated_database(server_url)
    plain = url.render_as_string(hide_password=False)
    engine = make_engine(plain)
    register_handlers()  # as the app and workers do
    with Session(engine) as session:
        load_demo(session, households=120)
        admin = session.execute(
            text("SELECT id FROM users WHERE username = :u"), {"u": TEST_ADMIN}
        ).scalar_one()
        job = jobs.submit(
            session, url=plain, kind="coverage_map", township=DEMO_TOWNSHIP,
            params={"user_id": admin, "basemap": "none"}, created_by=TEST_ADMIN,
        )  # fmt: skip
    assert jobs.run_job_now(engine, job["id"])["status"] == "succeeded"
    yield engine
    engine.dispose()
    drop_database(url)


@pytest.fixture(scope="module")
def served(contract_engine: Engine) -> Iterator[str]:
    """``gridgis serve`` on the contract database; yields its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "GRIDGIS_DATABASE_URL": contract_engine.url.render_as_string(
            hide_password=False
        ),
        "GRIDGIS_AUTH__SECRET": TEST_SECRET,
    }
    server = subprocess.Popen(
        [str(BIN / "gridgis"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert server.poll() is None and time.monotonic() < deadline
        time.sleep(0.3)
    yield base
    server.terminate()
    server.wait(timeout=20)


# Rules the OpenAPI cannot state: across fields (since < until, start_lon with
# start_lat, grid codes unique in a list) or against stored data (a household or
# cadre code that must exist, the columns of an uploaded file). The service
# answers them with its documented 422 problem+json; schemathesis is told that a
# 422 there is an answer to schema-valid data, on these operations only.
T = "/townships/{township}"
CROSS_FIELD_422 = {
    f"{T}/coverage/grids": "since < until",
    f"{T}/coverage/cadres": "since < until",
    # basemap=tianditu needs settings.map.tianditu_key (the basemap is an enum now)
    f"{T}/maps/coverage": "since < until; tianditu needs its key",
    f"{T}/maps/routes/{{cadre}}": "start_lon and start_lat together; tianditu key",
    f"{T}/maps/disputes/{{dispute_id}}": "tianditu needs settings.map.tianditu_key",
    f"{T}/visit-routes": "household and cadre codes must exist",
    f"{T}/grids/redraw": "grid codes unique in the list",
    f"{T}/grids/redraw/preview": "grid codes unique in the list",
    f"{T}/demands": "household and cadre codes must exist",
    f"{T}/visits": "household and cadre codes must exist",
    f"{T}/visits/batch": "the uploaded file must have the named columns",
    f"{T}/layers/{{layer}}/import": "the file's columns, the field map's JSON; "
    "a file of no type GridGIS reads is a 415",
    f"{T}/hazards/{{code}}/transitions": "closing needs a note",
    f"{T}/hazards": "the grid code must exist",
    f"{T}/hazards/stats": "the grid code must exist",
    f"{T}/hazards/warn": "the grid code must exist; bbox in range, min <= max",
    f"{T}/hazards/warn.xlsx": "the grid code must exist; bbox in range, min <= max",
    f"{T}/layers/{{layer}}/items": "bbox in range, minLat <= maxLat",
    f"{T}/layers/{{layer}}/items/{{code}}": "PATCH: the layer's own properties, "
    "coordinates that make a valid geometry of their type",
    f"{T}/layers/{{layer}}/export": "bbox in range, minLat <= maxLat",
}
# The OGC items list declares every layer's queryables; a collection refuses the
# ones it has not (400 naming them, as its /queryables document lists).
COLLECTION_400 = {
    "/ogc/collections/{collectionId}/items": "this layer's queryables",
    # datetime is RFC 3339 text (a string schema cannot say which), an instant
    # for a layer of states (visit_status)
    "/ogc/tiles/{collectionId}/{z}/{x}/{y}.pbf": "datetime as RFC 3339",
    "/ogc/collections/{collectionId}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}"
    "/{tileCol}": "datetime as RFC 3339",
}


def _pins(engine: Engine) -> dict[str, dict[str, str | int]]:
    """Ids of real rows, per path: without them the OGC and job operations would
    be asked for random ids and answer 404 to nearly every case."""
    with engine.connect() as conn:
        household, feature, job = conn.execute(
            text(
                "SELECT min(code), min(id), (SELECT max(id) FROM jobs)"
                " FROM households WHERE township_code = :t"
            ),
            {"t": DEMO_TOWNSHIP},
        ).one()
    return {
        "^/ogc/collections/\\{collectionId\\}": {
            "path.collectionId": f"{DEMO_TOWNSHIP}.households",
            "path.featureId": str(feature),  # the feature's id, as items list it
        },
        "^/townships/\\{township\\}/layers/\\{layer\\}": {
            "path.layer": "households",
            "path.code": household,
        },
        "^/ogc/(collections/\\{collectionId\\}/)?tiles": {
            "path.collectionId": f"{DEMO_TOWNSHIP}.households",
        },
        "^/jobs/\\{job_id\\}": {"path.job_id": job},
    }


def contract_config(
    township: str = DEMO_TOWNSHIP,
    pins: dict[str, dict[str, str | int]] | None = None,
) -> str:
    """schemathesis.toml: the demo township and real ids pinned, the rules above."""
    lines = [
        "[parameters]",
        f'"path.township" = "{township}"',
        '"body.time_limit_s" = 0.2',
        # Text with NUL or an unpaired surrogate is refused everywhere (422: the
        # database cannot store it), JSON keys included, where no schema can say.
        "[generation]",
        "allow-x00 = false",
        'codec = "utf-8"',
    ]
    for path, rule in CROSS_FIELD_422.items():
        extra = ["415"] if path.endswith("/import") else []  # the file's own type
        lines += [
            f"# {rule}",
            "[[operations]]",
            f'include-path = "{path}"',
            "checks.positive_data_acceptance.expected-statuses = "
            + json.dumps(["2xx", "401", "403", "404", "409", "422", *extra]),
        ]
    for regex, values in (pins or {}).items():
        pinned = ", ".join(
            f'"{k}" = {v}' if isinstance(v, int) else f'"{k}" = "{v}"'
            for k, v in values.items()
        )
        lines += [
            "[[operations]]",
            f"include-path-regex = '{regex}'",  # a TOML literal: no escapes
            f"parameters = {{ {pinned} }}",
        ]
    for path, rule in COLLECTION_400.items():
        lines += [
            f"# {rule}",
            "[[operations]]",
            f'include-path = "{path}"',
            "checks.positive_data_acceptance.expected-statuses = "
            '["2xx", "401", "403", "404", "409", "400"]',
        ]
    return "\n".join(lines) + "\n"


@pytest.mark.slow
def test_schemathesis_all_checks_all_phases(
    served: str, contract_engine: Engine, tmp_path: Path
) -> None:
    (authorization,) = bearer_for(contract_engine).items()
    config = tmp_path / "schemathesis.toml"
    config.write_text(contract_config(pins=_pins(contract_engine)))
    run = subprocess.run(
        [
            str(BIN / "schemathesis"),
            "--config-file",
            str(config),
            "run",
            f"{served}/openapi.json",
            "--header",
            ": ".join(authorization),
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--mode",
            "all",
            "--max-examples",
            EXAMPLES,
            "--seed",
            "20261202",
            "--generation-deterministic",
            "--continue-on-failure",
            "--no-color",
        ],
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
        cwd=tmp_path,  # its .schemathesis cache stays out of the checkout
        capture_output=True,
        text=True,
        timeout=900,
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "schemathesis.txt").write_text(run.stdout + run.stderr)
    tail = run.stdout[-6000:]
    assert run.returncode == 0, tail
