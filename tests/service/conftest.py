"""A scratch database with a small demo township, shared by the API-wide sweeps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from gis_service.app.demo.load import load_demo
from gis_service.app.main import create_app
from gis_service.core.db import make_engine
from tests.conftest import app_settings, drop_database, migrated_database

DEMO_TOWNSHIP = "620623101000"


@pytest.fixture(scope="session")
def demo_engine(server_url: URL) -> Iterator[Engine]:
    """A database of its own with a 120-household demo township (real commits)."""
    url = migrated_database(server_url)
    engine = make_engine(url.render_as_string(hide_password=False))
    with Session(engine) as session:
        load_demo(session, households=120)
    yield engine
    engine.dispose()
    drop_database(url)


@pytest.fixture(scope="session")
def demo_app(demo_engine: Engine) -> FastAPI:
    """The app with its own per-request sessions, as in production."""
    app = create_app(app_settings(demo_engine.url))
    app.state.engine = demo_engine
    return app
