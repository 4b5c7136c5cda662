"""Limits decided before work: body cap, media type, JSON shape, queue, archives."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from shapely.geometry import Polygon

from gis_service.app.main import create_app
from gis_service.core.db import get_session
from gis_service.core.settings import LimitSettings
from gis_service.core.uploads import PREFIX, remove_stale_uploads, upload_root
from tests.conftest import app_settings, bearer_for
from tests.factories import TOWNSHIP, make_township
from tests.layers.factories_layers import count, households_frame, upload, write

LIMITS = LimitSettings(
    max_body_bytes=200_000,
    max_json_bytes=10_000,
    max_features=5,
    max_vertices=50,
    zip_max_members=20,
    zip_max_bytes=50_000_000,
    zip_max_ratio=50.0,
)


def _app(
    engine: Engine, session: Session, url: URL, limits: LimitSettings, tmp: Path
) -> FastAPI:
    limits = limits.model_copy(update={"upload_dir": tmp / "uploads"})
    settings = app_settings(url).model_copy(update={"limits": limits})
    app = create_app(settings)
    app.state.engine = engine
    app.dependency_overrides[get_session] = lambda: session
    return app


@pytest.fixture
def small(
    engine: Engine, session: Session, database_url: URL, tmp_path: Path
) -> Iterator[TestClient]:
    make_township(session)
    app = _app(engine, session, database_url, LIMITS, tmp_path)
    with TestClient(
        app, raise_server_exceptions=False, headers=bearer_for(engine)
    ) as client:
        yield client


def _problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    ctype = response.headers["content-type"]  # type: ignore[attr-defined]
    assert ctype.startswith("application/problem+json")
    body = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    return body  # type: ignore[no-any-return]


def test_declared_length_over_cap_is_413_unread(small: TestClient) -> None:
    headers = {"content-type": "application/json", "content-length": "50000000"}

    def never() -> Iterator[bytes]:  # the body is never pulled
        raise AssertionError("body was read")
        yield b""

    r = small.put(f"/townships/{TOWNSHIP}", content=never(), headers=headers)
    assert "10000" in str(_problem(r, 413)["detail"])


def test_big_json_and_upload_are_413(small: TestClient, tmp_path: Path) -> None:
    r = small.put(f"/townships/{TOWNSHIP}", json={"name": "x" * 20_000})
    _problem(r, 413)
    big = tmp_path / "big.geojson"
    big.write_bytes(b" " * 300_000)
    _problem(upload(small, "households", big), 413)


@pytest.mark.parametrize(
    ("body", "ctype", "status"),
    [
        (b'{"name": "a", "name": "b"}', "application/json", 400),
        (b'{"name": "a"', "application/json", 400),
        (b"name=a", "text/plain", 415),
        (b'{"name": "a"}', "", 415),
    ],
)
def test_json_shape_and_media_type(
    small: TestClient, body: bytes, ctype: str, status: int
) -> None:
    headers = {"content-type": ctype} if ctype else {}
    r = small.put(f"/townships/{TOWNSHIP}", content=body, headers=headers)
    _problem(r, status)


def test_trace_is_405_with_allow(small: TestClient) -> None:
    r = small.request("TRACE", f"/townships/{TOWNSHIP}")
    _problem(r, 405)
    assert set(r.headers["allow"].split(", ")) >= {"GET", "PUT"}


def test_queue_beyond_limit_is_503(
    engine: Engine, session: Session, database_url: URL, tmp_path: Path
) -> None:
    app = _app(
        engine,
        session,
        database_url,
        LIMITS.model_copy(update={"max_inflight": 0}),
        tmp_path,
    )
    with TestClient(
        app, raise_server_exceptions=False, headers=bearer_for(engine)
    ) as client:
        r = client.get("/townships")
        _problem(r, 503)
        assert r.headers["retry-after"] == "1"
        assert client.get("/health").status_code == 200  # monitors still answered


def _zip(path: Path, members: dict[str, bytes], link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


@pytest.mark.parametrize(
    "name", ["../../x.shp", "/tmp/x.shp", "..\\x.shp", "C:/x.shp", "a/../../x.shp"]
)
def test_unsafe_member_names_are_422(
    small: TestClient, tmp_path: Path, name: str
) -> None:
    archive = _zip(tmp_path / "h.zip", {name: b"x"})
    body = _problem(upload(small, "households", archive), 422)
    assert "unsafe archive member" in str(body["detail"])


def test_symlink_member_is_422(small: TestClient, tmp_path: Path) -> None:
    archive = _zip(tmp_path / "h.zip", {"h.shp": b"x"}, link="h.dbf")
    body = _problem(upload(small, "households", archive), 422)
    assert "symbolic link" in str(body["detail"])


def test_zip_bomb_is_refused_before_inflating(
    small: TestClient, tmp_path: Path
) -> None:
    archive = _zip(tmp_path / "h.zip", {"h.shp": b"\0" * 20_000_000})
    assert archive.stat().st_size < 100_000
    body = _problem(upload(small, "households", archive), 422)
    assert "compression ratio" in str(body["detail"])
    many = _zip(tmp_path / "m.zip", {f"f{i}.txt": b"x" for i in range(30)})
    assert "member count" in str(
        _problem(upload(small, "households", many), 422)["detail"]
    )


def test_feature_and_vertex_caps(
    small: TestClient, session: Session, tmp_path: Path
) -> None:
    path = write(households_frame(6), tmp_path / "h.geojson")
    body = _problem(upload(small, "households", path), 422)
    assert body["errors"][0]["limit"] == 5 and body["errors"][0]["value"] == 6
    assert count(session, "households") == 0
    ring = [(102.5 + 0.001 * i, 37.1 + 0.0001 * (i % 2)) for i in range(60)]
    frame = households_frame(1)
    frame = frame.set_geometry([Polygon([*ring, (102.5, 37.2)])])
    csv = write(frame, tmp_path / "p.geojson")
    body = _problem(upload(small, "households", csv), 422)
    assert body["errors"][0]["limit"] == 50 and body["errors"][0]["value"] == 62


def test_uploads_of_dead_servers_are_removed_at_start(tmp_path: Path) -> None:
    limits = LimitSettings(upload_dir=tmp_path / "up")
    root = upload_root(limits)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = root / f"{PREFIX}{dead.stdout.strip()}-abc"
    live = root / f"{PREFIX}{os.getpid()}-def"
    stale.mkdir()
    live.mkdir()
    (stale / "h.geojson").write_text("{}")
    assert remove_stale_uploads(limits) == 1
    assert not stale.exists() and live.exists()
