"""Sign-in holds no lock while its request waits for the handler.

A request signs in (reads users, grids, cadres) in a dependency and runs its
handler after a hop through the thread pool. Were the sign-in inside the
request's transaction, its locks would be held across that wait, and a
partition swap's ACCESS EXCLUSIVE lock would time out behind readers idle in
transaction (tests/grids/test_swap_concurrency.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from gis_service.app.main import create_app
from gis_service.core.auth.scope import ALL_ROLE
from gis_service.core.db import make_engine
from gis_service.core.deps import SessionDep
from tests.conftest import app_settings, bearer_for
from tests.factories import TOWNSHIP, make_grid, make_township, square

_IN_TRANSACTION = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
)

_SEEN = text(
    "SELECT a.state, "
    "       (SELECT count(*) FROM pg_locks l "
    "         WHERE l.pid = a.pid AND l.locktype = 'relation') AS relations "
    "FROM pg_stat_activity a WHERE a.pid = :pid"
)


def _township_with_a_grid(url: URL) -> Engine:
    """The owner's engine on a database with the test township and one grid."""
    engine = make_engine(url.render_as_string(False), pool_size=2)
    with Session(engine) as session:
        make_township(session)
        make_grid(session, "A", square(102.0, 37.0, 0.01), level="grid")
        session.commit()
    return engine


def test_a_signed_in_request_holds_no_lock_before_its_handler(
    scratch_url: URL,
) -> None:
    engine = _township_with_a_grid(scratch_url)
    app = create_app(app_settings(scratch_url))  # on the service login, as served
    seen: dict[str, Any] = {}

    async def probe(session: SessionDep) -> dict[str, str]:
        """Looks at its own backend from another connection, running nothing."""
        pid = session.connection().connection.dbapi_connection.info.backend_pid
        with engine.connect() as other:
            seen.update(other.execute(_SEEN, {"pid": pid}).one()._asdict())
        rows = session.execute(text("SELECT count(*) FROM grids")).scalar_one()
        seen["grids"] = rows
        seen["role"] = session.execute(text("SELECT current_user")).scalar_one()
        return {}

    app.add_api_route("/_probe", probe)
    try:
        with TestClient(app, headers=bearer_for(engine)) as client:
            assert client.get("/_probe").status_code == 200
            grids = client.get(f"/townships/{TOWNSHIP}/coverage/grids")
            assert grids.status_code == 200
    finally:
        engine.dispose()
    assert seen["state"] == "idle", seen  # not "idle in transaction"
    assert seen["relations"] == 0, seen
    # the handler's statements still run under the signed-in user's scope
    assert seen["role"] == ALL_ROLE, seen  # the test admin: every township
    assert seen["grids"] == 1, seen


def test_a_map_page_renders_with_its_transaction_ended(
    scratch_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rendering takes long after the last read: no transaction is held through it."""
    import maps.service

    engine = _township_with_a_grid(scratch_url)
    app = create_app(app_settings(scratch_url))
    app.state.engine = engine
    held: list[int] = []
    render = maps.service.render_coverage

    def watched(*args: Any, **kwargs: Any) -> Any:
        with engine.connect() as other:
            held.append(other.execute(_IN_TRANSACTION).scalar_one())
        return render(*args, **kwargs)

    monkeypatch.setattr(maps.service, "render_coverage", watched)
    try:
        with TestClient(app, headers=bearer_for(engine)) as client:
            page = client.get(f"/townships/{TOWNSHIP}/maps/coverage?basemap=none")
            assert page.status_code == 200, page.text
    finally:
        engine.dispose()
    assert held == [0]
