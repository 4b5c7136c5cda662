"""What start-up built is left out of later garbage collections (app.main)."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from gis_service.app.main import create_app
from tests.conftest import app_settings


def test_start_up_objects_are_frozen(database_url: URL, engine: Engine) -> None:
    app = create_app(app_settings(database_url))
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        # some 300 000 objects walked by every full collection otherwise
        assert gc.get_freeze_count() > 10_000
