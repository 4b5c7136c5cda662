"""A GET's statements run without parallel workers (DatabaseSettings)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import URL

from gis_service.app.main import create_app
from gis_service.core.db import make_engine
from gis_service.core.deps import SessionDep
from gis_service.core.settings import DatabaseSettings
from tests.conftest import app_settings, bearer_for

_SHOW = text("SELECT current_setting('max_parallel_workers_per_gather')")


def _probe(session: SessionDep) -> dict[str, str]:
    return {"workers": session.execute(_SHOW).scalar_one()}


def _workers(url: URL, **db: object) -> tuple[str, str, str]:
    """What a GET, a second statement of it and a POST run with."""
    settings = app_settings(url)
    settings.db = DatabaseSettings(**db)  # type: ignore[arg-type]
    app = create_app(settings)
    app.add_api_route("/_probe", _probe, methods=["GET", "POST"])
    engine = make_engine(url.render_as_string(False), pool_size=1)
    try:
        with TestClient(app, headers=bearer_for(engine)) as client:
            get = client.get("/_probe").json()["workers"]
            again = client.get("/_probe").json()["workers"]  # a pooled connection
            post = client.post("/_probe").json()["workers"]
            server = client.get("/health").status_code
    finally:
        engine.dispose()
    assert server == 200
    return get, again, post


def test_reads_run_without_parallel_workers_and_writes_keep_the_default(
    scratch_url: URL,
) -> None:
    default = make_engine(scratch_url.render_as_string(False))
    with default.connect() as conn:
        server_default = conn.execute(_SHOW).scalar_one()
    default.dispose()
    assert server_default != "0"
    assert _workers(scratch_url) == ("0", "0", server_default)
    assert _workers(scratch_url, read_parallel_workers=None) == (
        server_default, server_default, server_default,
    )  # fmt: skip
