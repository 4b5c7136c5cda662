"""Imports commit all or nothing, seen from another connection; the CLI too."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from shapely.geometry import Point

from gis_service.app.cli import app
from gis_service.core.db import make_engine
from gis_service.core.errors import InvalidInput
from gis_service.core.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02
from layers.io.importing import import_file
from tests.factories import TOWNSHIP, make_township
from tests.layers.factories_layers import households_frame, write

# Published WGS84 -> GCJ-02 pairs: googollee/eviltransform's tests (Shanghai,
# Shenzhen, Beijing) and wandergis/coordtransform's README (Beijing).
CONTROL = np.array(
    [
        # wgs lon, wgs lat, gcj lon, gcj lat
        (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
        (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
        (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
        (116.404, 39.915, 116.41024449916938, 39.91640428150164),
    ]
)


def test_gcj02_matches_published_control_points() -> None:
    glon, glat = wgs84_to_gcj02(CONTROL[:, 0], CONTROL[:, 1])
    assert np.abs(glon - CONTROL[:, 2]).max() < 1e-9
    assert np.abs(glat - CONTROL[:, 3]).max() < 1e-9
    wlon, wlat = gcj02_to_wgs84(CONTROL[:, 2], CONTROL[:, 3])
    assert np.abs(wlon - CONTROL[:, 0]).max() < 1e-9  # ~0.1 mm
    assert np.abs(wlat - CONTROL[:, 1]).max() < 1e-9
    # Outside China GCJ-02 is WGS84.
    lon, lat = gcj02_to_wgs84(np.array([2.35]), np.array([48.85]))
    assert (lon[0], lat[0]) == (2.35, 48.85)


@pytest.fixture
def scratch_session(scratch_url: URL) -> Session:
    engine = make_engine(scratch_url.render_as_string(False))
    with Session(engine) as session:
        make_township(session)
        yield session
    engine.dispose()


def _committed(scratch_url: URL) -> list[tuple[str, int]]:
    """What another connection sees."""
    engine = make_engine(scratch_url.render_as_string(False))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, members FROM households ORDER BY code"))
        out = [tuple(r) for r in rows]
    engine.dispose()
    return out


def test_failed_import_leaves_committed_data_untouched(
    scratch_session: Session, scratch_url: URL, tmp_path: Path
) -> None:
    good = write(households_frame(2), tmp_path / "good.geojson")
    import_file(scratch_session, township=TOWNSHIP, layer="households", path=good)
    assert _committed(scratch_url) == [("H1", 1), ("H2", 2)]
    # Changes H1, adds H3, H4; H4 is in France: nothing at all may be written.
    bad = households_frame(
        4, members=[7, 2, 3, 4],
        geometry=[Point(102.5, 37.1), Point(102.51, 37.11), Point(102.6, 37.2),
                  Point(2.35, 48.85)],
    )  # fmt: skip
    path = write(bad, tmp_path / "bad.geojson")
    with pytest.raises(InvalidInput) as caught:
        import_file(scratch_session, township=TOWNSHIP, layer="households", path=path)
    assert [e["feature"] for e in caught.value.errors] == [3]
    assert _committed(scratch_url) == [("H1", 1), ("H2", 2)]
    # The session is usable again, and a dry run commits nothing either.
    report = import_file(
        scratch_session, township=TOWNSHIP, layer="households", path=good, dry_run=True
    )
    assert report["unchanged"] == 2
    assert _committed(scratch_url) == [("H1", 1), ("H2", 2)]


def test_cli_import_and_export(
    scratch_url: URL, scratch_session: Session, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("GRIDGIS_DATABASE_URL", scratch_url.render_as_string(False))
    runner = CliRunner()
    path = write(households_frame(2), tmp_path / "h.gpkg")
    args = ["import", "households", str(path), "--township", TOWNSHIP]
    result = runner.invoke(app, [*args, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "新增 2" in result.output and "试运行" in result.output
    assert _committed(scratch_url) == []
    result = runner.invoke(app, [*args, "--json"])
    assert json.loads(result.output)["inserted"] == 2
    out = tmp_path / "out.zip"
    result = runner.invoke(
        app, ["export", "households", "--township", TOWNSHIP, "--format", "shp",
              "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["import", "households", str(out), "-t", TOWNSHIP])
    assert "新增 0, 更新 0, 未变 2" in result.output
    pd.DataFrame({"code": ["N1"], "head_name": ["x"]}).to_csv(tmp_path / "n.csv")
    result = runner.invoke(
        app, ["import", "households", str(tmp_path / "n.csv"), "-t", TOWNSHIP]
    )
    assert result.exit_code == 1
    assert "error: 1 of 1 features rejected" in result.output
    assert "the file has no geometry (lon/lat or WKT)" in result.output
