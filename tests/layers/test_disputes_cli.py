"""``gridgis disputes`` on a scratch database (the CLI commits for real)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gis_service.app.cli import app
from gis_service.core.db import make_engine
from tests.factories import TOWNSHIP
from tests.layers.factories_disputes import make_pasture


@pytest.fixture
def cli_db(scratch_url: URL, monkeypatch: pytest.MonkeyPatch) -> Iterator[URL]:
    url = scratch_url.render_as_string(hide_password=False)
    engine = make_engine(url)
    with Session(engine) as session:
        make_pasture(session)
    engine.dispose()
    monkeypatch.setenv("GRIDGIS_DATABASE_URL", url)
    yield scratch_url


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_detect_list_move_summary(cli_db: URL) -> None:
    code, out = run("disputes", "detect", "-t", TOWNSHIP, "--json")
    assert code == 0, out
    counts = json.loads(out)
    assert (counts["new"], counts["slivers"], counts["self_overlaps"]) == (2, 1, 1)

    code, out = run("disputes", "list", "-t", TOWNSHIP, "--json")
    assert code == 0, out
    page = json.loads(out)
    assert page["numberMatched"] == 2
    first = page["items"][0]["id"]

    code, out = run("disputes", "list", "-t", TOWNSHIP)
    assert code == 0
    assert out.splitlines()[0] == "共 2 起纠纷"
    assert "待处理" in out  # statuses by their Chinese names

    code, out = run(
        "disputes",
        "move",
        "-t",
        TOWNSHIP,
        str(first),
        "--to",
        "mediating",
        "--actor",
        "C2",
    )
    assert code == 0, out
    assert out.strip() == f"dispute {first} is now mediating"

    code, out = run("disputes", "summary", "-t", TOWNSHIP, "--json")
    assert code == 0, out
    assert json.loads(out)["by_status"] == {"mediating": 1, "open": 1}


def test_illegal_step_fails_with_one_line(cli_db: URL) -> None:
    assert run("disputes", "detect", "-t", TOWNSHIP)[0] == 0
    code, out = run("disputes", "list", "-t", TOWNSHIP, "--json")
    first = json.loads(out)["items"][0]["id"]
    code, out = run(
        "disputes",
        "move",
        "-t",
        TOWNSHIP,
        str(first),
        "--to",
        "resolved",
        "--actor",
        "x",
    )
    assert code == 1
    # one line, Chinese first (the Workflow's words), then the same in English
    assert out.strip().startswith(f"error: 纠纷 {first} 不能从 待调处 (open)")
    assert "\n" not in out.strip()
    assert f"dispute {first} is open: it cannot move to resolved" in out
    assert "(allowed: mediating, dismissed)" in out
    code, out = run("disputes", "list", "-t", TOWNSHIP, "--status", "bogus")
    assert code == 1
    assert "status 'bogus' is not one of" in out
