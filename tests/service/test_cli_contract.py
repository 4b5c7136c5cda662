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


GOLDEN = """\
户号    户主     事由       逾期天数   距驻点(米)   最近走访           户类别
─────────────────────────────────────────────────────────────────────────────────
H0001   多杰     政策宣传         12        1,235   2026-06-01 09:00   低保、特困
H10     何玉兰   矛盾调解                      80"""


def test_rows_read_well_and_align_by_display_width() -> None:
    from gis_service.core.display import rows_table

    rows = [
        {"household": "H0001", "head_name": "多杰", "purpose": "policy",
         "overdue_days": 12.4, "distance_to_base_m": 1234.56789,
         "last_visit": "2026-06-01T01:00:00+00:00", "tags": ["低保", "特困"]},
        {"household": "H10", "head_name": "何玉兰", "purpose": "mediation",
         "overdue_days": None, "distance_to_base_m": 80.2, "last_visit": None,
         "tags": []},
    ]  # fmt: skip
    out = rows_table(rows, ["household", "head_name", "purpose", "overdue_days",
                            "distance_to_base_m", "last_visit", "tags"])  # fmt: skip
    assert out == GOLDEN


# Commands whose options other work owns (the service, workers, jobs, migrations).
NOT_YET = {"serve", "demo", "worker", "db upgrade", "jobs list"}
NOT_YET_GROUPS: set[str] = set()


def test_every_option_has_help() -> None:
    from typer.main import get_command

    missing = []

    def walk(command: object, path: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])
        if " ".join(path) in NOT_YET or (path[:1] and path[0] in NOT_YET_GROUPS):
            return
        for param in getattr(command, "params", []):
            if param.param_type_name == "option" and not param.help:
                missing.append(f"{' '.join(path)} --{param.name}")

    walk(get_command(app), [])
    assert missing == []
