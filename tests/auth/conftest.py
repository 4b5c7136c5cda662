"""The access tests' shared fixtures: the two-township world and a plain client."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.auth.factories_scope import World, make_world


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


@pytest.fixture
def anon(app: FastAPI) -> TestClient:
    """A client that signs in as nobody (problems come back as answers)."""
    return TestClient(app, raise_server_exceptions=False)
