"""``gridgis map ...``: files that open offline, on a committed scratch database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gis_service.app.cli import app
from gis_service.core.db import make_engine
from tests.factories import TOWNSHIP
from tests.maps.factories_maps import AS_OF, build_map_township
from tests.maps.test_map_pages import js


def test_map_commands_write_offline_files(
    scratch_url: URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(scratch_url.render_as_string(False))
    with Session(engine) as session:
        township = build_map_township(session)
    engine.dispose()
    monkeypatch.setenv("GRIDGIS_DATABASE_URL", scratch_url.render_as_string(False))
    monkeypatch.setenv("GRIDGIS_MAP__BASEMAP", "none")
    runner = CliRunner()
    cases = {
        "coverage.html": ["coverage", "--grid", "A"],
        "route.html": [
            "route",
            "--cadre",
            "C1",
            "--as-of",
            AS_OF.isoformat(),
            "--open",
            "--per-day",
            "2",
            "--start",
            "102.006,37.0",
        ],
        "dispute.html": ["dispute", "--id", str(township.dispute)],
    }
    for name, args in cases.items():
        out = tmp_path / "maps" / name
        result = runner.invoke(
            app, ["map", *args, "--township", TOWNSHIP, "--out", str(out), "--json"]
        )
        assert result.exit_code == 0, result.output
        page = out.read_text(encoding="utf-8")
        assert '<script src="vendor/leaflet/leaflet.js">' in page
        assert "https://" not in page.split("<body>")[0]  # no CDN link in the head
    # the route is the planner's: C1's three due households in two open days
    route = (tmp_path / "maps" / "route.html").read_text(encoding="utf-8")
    assert route.count(js("<div class='gridgis-stop'>")) == 3
    assert js("2 天") in route and js("不回起点") in route
    assert (tmp_path / "maps" / "vendor" / "leaflet" / "leaflet.js").is_file()
    assert (tmp_path / "maps" / "vendor" / "fontawesome" / "webfonts").is_dir()

    bad = runner.invoke(
        app, ["map", "route", "--township", TOWNSHIP, "--cadre", "C9",
              "--out", str(tmp_path / "x.html")],
    )  # fmt: skip
    assert bad.exit_code == 1
    assert "cadre 'C9' does not exist" in bad.output
    bad = runner.invoke(
        app, ["map", "route", "--township", TOWNSHIP, "--cadre", "C1",
              "--start", "102", "--out", str(tmp_path / "x.html")],
    )  # fmt: skip
    assert bad.exit_code == 1
    assert "--start '102' must be LON,LAT" in bad.output


@pytest.mark.browser
def test_exported_file_opens_offline_in_chromium(
    scratch_url: URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import sync_playwright

    engine = make_engine(scratch_url.render_as_string(False))
    with Session(engine) as session:
        build_map_township(session)
    engine.dispose()
    monkeypatch.setenv("GRIDGIS_DATABASE_URL", scratch_url.render_as_string(False))
    out = tmp_path / "coverage.html"
    result = CliRunner().invoke(
        app, ["map", "coverage", "--township", TOWNSHIP, "--basemap", "none",
              "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        errors: list[str] = []
        page.on(
            "console", lambda m: errors.append(m.text) if m.type == "error" else None
        )
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(out.as_uri(), wait_until="load")
        counts = page.evaluate(
            "Object.values(GridGIS.layers).reduce((n, l) => n + l.count, 0)"
        )
        browser.close()
    assert errors == []
    assert counts == 8
