"""The one transaction rule on a database that really commits: only the outermost
``atomic`` commits, an inner one is a savepoint, and a failure anywhere in an
import (its assignment hook included) or a demo load writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from shapely.geometry import Point

from gis_service.app.demo import load as demo_load
from gis_service.app.demo.data import DEMO_TOWNSHIP
from gis_service.core.db import atomic, make_engine
from layers.io import hooks
from layers.io import importing as importing_module
from layers.io.importing import import_file
from tests.factories import TOWNSHIP, make_cadre, make_grid, make_township, square
from tests.layers.factories_layers import households_frame, write


class Boom(RuntimeError):
    """The failure a test injects after something was written."""


@pytest.fixture
def scratch_engine(scratch_url: URL) -> Iterator[Engine]:
    engine = make_engine(scratch_url.render_as_string(False))
    yield engine
    engine.dispose()


@pytest.fixture
def scratch_session(scratch_engine: Engine) -> Iterator[Session]:
    with Session(scratch_engine) as session:
        yield session


def _seen(engine: Engine, query: str) -> list[tuple[Any, ...]]:
    """What another connection sees (only committed rows)."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(query))]


# -- nesting ---------------------------------------------------------------------
def test_inner_atomic_is_a_savepoint_and_only_the_outer_commits(
    scratch_session: Session, scratch_engine: Engine
) -> None:
    session = scratch_session
    with atomic(session):
        session.execute(text("CREATE TABLE _unit (v text)"))
    seen = "SELECT v FROM _unit ORDER BY v"

    with atomic(session):
        session.execute(text("INSERT INTO _unit VALUES ('a')"))
        with atomic(session):
            session.execute(text("INSERT INTO _unit VALUES ('b')"))
        assert _seen(scratch_engine, seen) == []  # the inner one did not commit
        with pytest.raises(Boom), atomic(session):
            session.execute(text("INSERT INTO _unit VALUES ('x')"))
            raise Boom
        # The caller caught the inner failure and carries on: only 'x' is undone.
        session.execute(text("INSERT INTO _unit VALUES ('c')"))
    assert _seen(scratch_engine, seen) == [("a",), ("b",), ("c",)]

    # Not caught: the whole unit goes, the earlier writes of the outer with it.
    with pytest.raises(Boom), atomic(session):
        session.execute(text("INSERT INTO _unit VALUES ('d')"))
        with atomic(session):
            session.execute(text("INSERT INTO _unit VALUES ('e')"))
            raise Boom
    assert _seen(scratch_engine, seen) == [("a",), ("b",), ("c",)]
    assert session.info["gridgis_atomic_depth"] == 0


# -- an import whose assignment hook fails after writing ----------------------------
HOUSEHOLDS = "SELECT code, members FROM households ORDER BY code"
ASSIGNED = (
    "SELECT h.code, g.code, c.code FROM household_assignments a "
    "JOIN households h ON h.id = a.household_id "
    "LEFT JOIN grids g ON g.id = a.grid_id "
    "LEFT JOIN cadres c ON c.id = a.cadre_id ORDER BY h.code"
)


@pytest.fixture
def township_with_a_grid(scratch_session: Session) -> Session:
    make_township(scratch_session)
    make_grid(scratch_session, "G1", square(102.4, 37.0, 0.5))
    make_cadre(scratch_session, "C1", grid="G1", capacity=50)
    return scratch_session


def _failing_after(real: Any, written: list[int]) -> Any:
    """The real hook (it writes assignments), then a failure."""

    def hook(session: Session, **kwargs: Any) -> None:
        real(session, **kwargs)
        written.append(
            session.execute(
                text("SELECT count(*) FROM household_assignments")
            ).scalar_one()
        )
        raise Boom("assignment failed after writing")

    return hook


@pytest.mark.parametrize("hook", ["households_loaded", "households_moved"])
def test_import_whose_hook_fails_after_writing_writes_nothing(
    township_with_a_grid: Session,
    scratch_engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    hook: str,
) -> None:
    session = township_with_a_grid
    if hook == "households_moved":  # an update: the township has households
        first = write(households_frame(2), tmp_path / "first.geojson")
        import_file(session, township=TOWNSHIP, layer="households", path=first)
    before = _seen(scratch_engine, HOUSEHOLDS), _seen(scratch_engine, ASSIGNED)
    written: list[int] = []
    monkeypatch.setattr(
        importing_module, hook, _failing_after(getattr(hooks, hook), written)
    )
    # Moves H1, changes H2's members, adds H3.
    frame = households_frame(
        3, members=[1, 7, 3],
        geometry=[Point(102.7, 37.3), Point(102.51, 37.11), Point(102.52, 37.12)],
    )  # fmt: skip
    path = write(frame, tmp_path / "second.geojson")
    with pytest.raises(Boom):
        import_file(session, township=TOWNSHIP, layer="households", path=path)
    assert written and written[0] >= 3  # the hook did write before failing
    assert (_seen(scratch_engine, HOUSEHOLDS), _seen(scratch_engine, ASSIGNED)) == (
        before
    )
    # The session is clean: the same import without the failure commits it all.
    monkeypatch.setattr(importing_module, hook, getattr(hooks, hook))
    import_file(session, township=TOWNSHIP, layer="households", path=path)
    assert _seen(scratch_engine, HOUSEHOLDS) == [("H1", 1), ("H2", 7), ("H3", 3)]
    assert _seen(scratch_engine, ASSIGNED) == [
        ("H1", "G1", "C1"), ("H2", "G1", "C1"), ("H3", "G1", "C1"),
    ]  # fmt: skip


# -- the demo load ---------------------------------------------------------------
DEMO_COUNTS = (
    "SELECT (SELECT count(*) FROM households WHERE township_code = '{t}'),"
    " (SELECT count(*) FROM household_assignments WHERE township_code = '{t}'),"
    " (SELECT count(*) FROM disputes WHERE township_code = '{t}'),"
    " (SELECT string_agg(code, ',' ORDER BY code) FROM households"
    "  WHERE township_code = '{t}')"
)


def test_a_demo_load_that_fails_midway_leaves_the_previous_demo(
    scratch_session: Session, scratch_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = demo_load.load_demo(scratch_session, households=40)
    query = DEMO_COUNTS.format(t=DEMO_TOWNSHIP)
    before = _seen(scratch_engine, query)
    assert before[0][:2] == (40, 40) and counts["households"] == 40

    def detect_then_fail(session: Session, **kwargs: Any) -> None:
        raise Boom("dispute detection failed")

    monkeypatch.setattr(demo_load, "detect_disputes", detect_then_fail)
    with pytest.raises(Boom):
        demo_load.load_demo(scratch_session, households=60, seed=7)
    assert _seen(scratch_engine, query) == before
