"""Imports that swap the assignment partition, against readers: 0 errors.

Each round imports a grid layout that moves about half the households to the
other grid, so the full assignment run rebuilds and swaps
``household_assignments_<township>`` (DETACH, DROP, ATTACH). Meanwhile reader
threads call the list and coverage endpoints through the app with their own
sessions. Before the swap took its locks at once with a short lock_timeout, a
reader holding one of the tables could close a cycle with the swap (a 500).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

import geopandas as gpd
from shapely.geometry import MultiPolygon, Polygon

from gis_service.app.main import create_app
from gis_service.core.db import make_engine
from layers.io.importing import import_file
from tests.conftest import app_settings, bearer_for
from tests.factories import TOWNSHIP, make_cadre, make_grid, make_households, square

ROUNDS = 8
READERS = 4
PATHS = (
    f"/townships/{TOWNSHIP}/coverage/grids",
    f"/townships/{TOWNSHIP}/coverage/uncovered",
    f"/townships/{TOWNSHIP}/assignment/grids",
    f"/townships/{TOWNSHIP}/assignment/cadres",
    f"/townships/{TOWNSHIP}/layers/households/items?limit=50",
    f"/townships/{TOWNSHIP}/maps/coverage?basemap=none",
)


def _layout(vertical: bool, path: Path) -> Path:
    """Two grids A and B splitting the 0.02° square one way or the other."""
    x0, y0, size = 102.0, 37.0, 0.02
    if vertical:
        a = Polygon([(x0, y0), (x0 + size / 2, y0), (x0 + size / 2, y0 + size),
                     (x0, y0 + size)])  # fmt: skip
        b = Polygon([(x0 + size / 2, y0), (x0 + size, y0), (x0 + size, y0 + size),
                     (x0 + size / 2, y0 + size)])  # fmt: skip
    else:
        a = Polygon([(x0, y0), (x0 + size, y0), (x0 + size, y0 + size / 2),
                     (x0, y0 + size / 2)])  # fmt: skip
        b = Polygon([(x0, y0 + size / 2), (x0 + size, y0 + size / 2),
                     (x0 + size, y0 + size), (x0, y0 + size)])  # fmt: skip
    frame = gpd.GeoDataFrame(
        {"code": ["A", "B"], "name": ["甲", "乙"], "level": ["grid", "grid"]},
        geometry=[MultiPolygon([a]), MultiPolygon([b])],
        crs=4326,
    )
    frame.to_file(path)
    return path


@pytest.mark.slow
def test_repeated_swaps_against_readers(scratch_url: URL, tmp_path: Path) -> None:
    engine = make_engine(scratch_url.render_as_string(False), pool_size=10)
    with Session(engine) as session:
        from tests.factories import make_township

        make_township(session)
        make_grid(session, "A", square(102.0, 37.0, 0.01), level="grid")
        make_grid(session, "B", square(102.01, 37.0, 0.01), level="grid")
        make_cadre(session, "C1", grid="A", base=(102.005, 37.01), capacity=500)
        make_cadre(session, "C2", grid="B", base=(102.015, 37.01), capacity=500)
        make_households(
            session,
            [
                (102.0005 + 0.001 * (i % 20), 37.0005 + 0.001 * (i // 20))
                for i in range(400)
            ],
        )
        session.commit()
    layouts = [_layout(v, tmp_path / f"g{int(v)}.geojson") for v in (True, False)]
    app = create_app(app_settings(scratch_url))
    app.state.engine = engine
    answers: list[tuple[str, int]] = []
    stop = threading.Event()

    def read(client: TestClient, k: int) -> None:
        i = k
        while not stop.is_set():
            path = PATHS[i % len(PATHS)]
            answers.append((path, client.get(path).status_code))
            i += 1

    swaps = 0
    with TestClient(
        app, raise_server_exceptions=False, headers=bearer_for(engine)
    ) as client:
        readers = [
            threading.Thread(target=read, args=(client, k)) for k in range(READERS)
        ]
        for thread in readers:
            thread.start()
        try:
            for n in range(ROUNDS):
                with Session(engine) as session:
                    report: dict[str, Any] = import_file(
                        session,
                        township=TOWNSHIP,
                        layer="grids",
                        path=layouts[n % 2],
                    )
                assert report["written"], report
                with engine.connect() as conn:
                    swaps += int(
                        conn.execute(
                            text(
                                "SELECT count(*) FROM household_assignments"
                                " WHERE township_code = :t AND grid_id IS NOT NULL"
                            ),
                            {"t": TOWNSHIP},
                        ).scalar_one()
                        == 400
                    )
        finally:
            stop.set()
            for thread in readers:
                thread.join()
    engine.dispose()
    failures = [a for a in answers if a[1] != 200]
    assert len(answers) > ROUNDS * 5
    assert failures == [], failures[:10]
    assert swaps == ROUNDS  # every household assigned after every round
