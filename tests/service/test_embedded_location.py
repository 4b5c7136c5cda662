"""One embedded database per installation, whatever the cwd; no schema: one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import URL, text
from typer.testing import CliRunner

from gis_service.app.cli import app
from gis_service.core.db import make_engine
from gis_service.core.settings import Settings
from tests.conftest import create_database, drop_database

ONE_LINE = "error: no GridGIS schema here: run `gridgis db upgrade`"
CODE = "620623102000"


@pytest.fixture
def no_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither a URL nor a data directory configured: the defaults decide."""
    monkeypatch.delenv("GRIDGIS_DATABASE_URL", raising=False)
    monkeypatch.delenv("GRIDGIS_EMBEDDED__DATA_DIR", raising=False)


def test_the_default_database_does_not_depend_on_the_cwd(
    no_config: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = []
    for where in (Path(__file__).parent, tmp_path, Path("/")):
        monkeypatch.chdir(where)
        result = CliRunner().invoke(app, ["db", "status", "--json"])
        # Exit 1 when that cluster is not running: the report is printed all the same.
        status = json.loads(result.output)
        seen.append((status["data_dir"], status["uses"]))
        assert Settings().embedded.data_dir.resolve() == Path(status["data_dir"])
    assert len(set(seen)) == 1
    assert not (tmp_path / ".gridgis").exists()  # status created nothing here


def test_commands_from_another_directory_reach_the_same_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scratch_url: URL
) -> None:
    monkeypatch.setenv("GRIDGIS_DATABASE_URL", scratch_url.render_as_string(False))
    runner = CliRunner()
    monkeypatch.chdir(Path(__file__).parent)
    added = runner.invoke(app, ["townships", "add", CODE, "--name", "哈溪镇"])
    assert added.exit_code == 0, added.output
    monkeypatch.chdir(tmp_path)
    listed = runner.invoke(app, ["townships", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [t["code"] for t in json.loads(listed.output)] == [CODE]
    status = json.loads(runner.invoke(app, ["db", "status", "--json"]).output)
    assert status["schema"].startswith("migrated to ")


def test_a_read_command_never_creates_a_cluster(
    no_config: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = tmp_path / "nowhere"
    monkeypatch.setenv("GRIDGIS_EMBEDDED__DATA_DIR", str(where))
    monkeypatch.chdir(tmp_path)
    for args in (["townships", "list"], ["assign", "-t", CODE], ["serve"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.strip().startswith(ONE_LINE), result.output
        assert len(result.output.strip().splitlines()) == 1
    status = CliRunner().invoke(app, ["db", "status", "--json"])
    assert json.loads(status.output)["initialised"] is False
    assert not where.exists()


@pytest.fixture
def empty_url(server_url: URL) -> object:
    """A database without the GridGIS schema."""
    url = create_database(server_url)
    yield url
    drop_database(url)


@pytest.mark.parametrize(
    "args",
    [
        ["townships", "list"],
        ["assign", "-t", CODE],
        ["disputes", "list", "-t", CODE],
        ["grids", "report", "-t", CODE],
        ["coverage", "grids", "-t", CODE],
        ["townships", "add", CODE, "--name", "哈溪镇"],
    ],
)
def test_an_unmigrated_database_answers_in_one_line(
    args: list[str], empty_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDGIS_DATABASE_URL", empty_url.render_as_string(False))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.output.strip() == ONE_LINE
    status = CliRunner().invoke(app, ["db", "status", "--json"])
    assert "no GridGIS schema here" in json.loads(status.output)["schema"]
    engine = make_engine(empty_url.render_as_string(False))
    with engine.connect() as conn:  # and nothing was created in it
        assert conn.execute(text("SELECT to_regclass('townships')")).scalar() is None
    engine.dispose()


def test_rename_without_county_keeps_it(
    scratch_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDGIS_DATABASE_URL", scratch_url.render_as_string(False))
    runner = CliRunner()
    add = ["townships", "add", CODE, "--json", "--name"]
    assert runner.invoke(app, [*add, "哈溪镇", "--county", "天祝县"]).exit_code == 0
    renamed = runner.invoke(app, [*add, "哈溪乡"])
    assert renamed.exit_code == 0, renamed.output
    assert json.loads(renamed.output)["county"] == "天祝县"
    assert json.loads(renamed.output)["name"] == "哈溪乡"
    cleared = runner.invoke(app, [*add, "哈溪乡", "--county", ""])
    assert json.loads(cleared.output)["county"] is None
