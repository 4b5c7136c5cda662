"""Idempotency-Key: a retried POST gets the first answer and writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.conftest import bearer_for
from tests.layers.factories_layers import households_frame, write
from tests.service.conftest import DEMO_TOWNSHIP

BASE = f"/townships/{DEMO_TOWNSHIP}"


@pytest.fixture
def client(demo_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(
        demo_app,
        raise_server_exceptions=False,
        headers=bearer_for(demo_app.state.engine),
    ) as test_client:
        yield test_client


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), {"t": DEMO_TOWNSHIP}).scalar_one())


def _household(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT code FROM households WHERE township_code = :t LIMIT 1"),
                {"t": DEMO_TOWNSHIP},
            ).scalar_one()
        )


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def test_retried_visit_is_stored_once(client: TestClient, demo_engine: Engine) -> None:
    visits = "SELECT count(*) FROM visits WHERE township_code = :t"
    before = _count(demo_engine, visits)
    body = {"household": _household(demo_engine), "visited_at": "2025-05-01T09:00:00"}
    key = _key()
    first = client.post(f"{BASE}/visits", json=body, headers=key)
    assert first.status_code == 201, first.text
    again = client.post(f"{BASE}/visits", json=body, headers=key)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert _count(demo_engine, visits) == before + 1
    # the same key with another body is refused, and writes nothing either
    other = client.post(f"{BASE}/visits", json={**body, "notes": "另一次"}, headers=key)
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert _count(demo_engine, visits) == before + 1
    # without a key, every POST is its own
    assert client.post(f"{BASE}/visits", json=body).status_code == 201
    assert _count(demo_engine, visits) == before + 2


def test_retried_detection_run_runs_once(
    client: TestClient, demo_engine: Engine
) -> None:
    runs = "SELECT count(*) FROM dispute_runs WHERE township_code = :t"
    before = _count(demo_engine, runs)
    key = _key()
    first = client.post(f"{BASE}/disputes/detect", json={}, headers=key)
    assert first.status_code == 200, first.text
    again = client.post(f"{BASE}/disputes/detect", json={}, headers=key)
    assert again.json()["run_id"] == first.json()["run_id"]
    assert _count(demo_engine, runs) == before + 1


def test_retried_upload_is_replayed(
    client: TestClient, demo_engine: Engine, tmp_path: Path
) -> None:
    path = write(households_frame(2, code=["IDEM1", "IDEM2"]), tmp_path / "h.geojson")
    key = _key()
    answers = []
    for _ in range(2):  # each attempt has its own random multipart boundary
        with path.open("rb") as handle:
            answers.append(
                client.post(
                    f"{BASE}/layers/households/import",
                    files={"file": (path.name, handle)},
                    data={"dry_run": "true"},
                    headers=key,
                )
            )
    assert answers[0].status_code == 200, answers[0].text
    assert answers[1].json() == answers[0].json()
    assert answers[1].headers["idempotent-replayed"] == "true"


def test_key_in_flight_is_409_and_bad_key_400(
    client: TestClient, demo_engine: Engine
) -> None:
    key = uuid.uuid4().hex
    body = {"household": _household(demo_engine), "visited_at": "2025-05-02T09:00:00"}
    from gis_service.core.idempotency import fingerprint

    scope = {
        "method": "POST",
        "path": f"{BASE}/visits",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
    }
    import json

    raw = json.dumps(body).encode()
    with demo_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO idempotency_keys (key, fingerprint) VALUES (:k, :f)"),
            {"k": key, "f": fingerprint(scope, raw)},
        )
    running = client.post(
        f"{BASE}/visits",
        content=raw,
        headers={"Idempotency-Key": key, "content-type": "application/json"},
    )
    assert running.status_code == 409 and running.headers["retry-after"] == "1"
    bad = client.post(f"{BASE}/visits", json=body, headers={"Idempotency-Key": "a b"})
    assert bad.status_code == 400
