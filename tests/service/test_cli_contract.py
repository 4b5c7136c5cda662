"""The CLI's failure contract and its default township."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gis_service.app.cli import app
from gis_service.core import cli as core_cli


def test_json_failures_print_the_api_problem_object(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["layers", "describe", "nope", "--json"], catch_exceptions=False
    )
    assert result.exit_code == 1
    problem = json.loads(result.stdout)
    assert problem["status"] == 404
    assert problem["title"] == "Not found"
    assert "nope" in problem["detail"]


def test_an_unexpected_error_is_one_line_with_a_log_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDGIS_LOG_DIR", str(tmp_path))

    def boom(layer: str) -> str:
        raise RuntimeError("kaboom")

    monkeypatch.setattr("layers.io.templates.describe", boom)
    result = CliRunner().invoke(app, ["layers", "describe", "households"])
    assert result.exit_code == 1
    log = tmp_path / "cli-errors.log"
    assert result.output.strip() == (
        f"error: unexpected RuntimeError; the details are in {log}"
    )
    assert "Traceback" in log.read_text() and "kaboom" in log.read_text()


def test_default_township_from_the_environment_or_townships_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRIDGIS_TOWNSHIP", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert core_cli.default_township() == ""
    core_cli.township_file().parent.mkdir(parents=True)
    core_cli.township_file().write_text("620623101000\n")
    assert core_cli.default_township() == "620623101000"
    monkeypatch.setenv("GRIDGIS_TOWNSHIP", "620623102000")
    assert core_cli.default_township() == "620623102000"


def test_no_township_is_a_one_line_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRIDGIS_TOWNSHIP", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["coverage", "grids"])
    assert result.exit_code == 1
    assert "gridgis townships use CODE" in result.output
