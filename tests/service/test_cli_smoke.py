"""The read-side CLI commands of every package, run against the demo township.

Each must exit 0 and print JSON with ``--json``; an unknown township must exit 1
with a one-line reason. (Write commands have tests beside their packages.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from gis_service.app.cli import app
from tests.service.conftest import DEMO_TOWNSHIP

T = ["-t", DEMO_TOWNSHIP]


@pytest.fixture
def cli(demo_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("GRIDGIS_DATABASE_URL", demo_engine.url.render_as_string(False))
    return CliRunner()


def _cadre(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text(
                    "SELECT c.code FROM cadres c JOIN households_assigned h "
                    "ON h.cadre_id = c.id GROUP BY c.code ORDER BY count(*) DESC, "
                    "c.code LIMIT 1"
                )
            ).scalar_one()
        )


@pytest.mark.parametrize(
    "args",
    [
        ["visits", "list", *T, "--far-only"],
        ["demands", "list", *T],
        ["demands", "closure", *T],
        ["coverage", "grids", *T],
        ["coverage", "cadres", *T],
        ["coverage", "uncovered", *T, "--limit", "5"],
        ["coverage", "rules", *T],
        ["grids", "check", *T],
        ["grids", "integrity", *T],
        ["grids", "report", *T],
        ["disputes", "list", *T],
        ["disputes", "summary", *T],
        ["hazards", "list", *T, "--overdue"],
        ["hazards", "stats", *T],
        ["hazards", "warn", *T, "--kind", "滑坡"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_read_commands_print_json(cli: CliRunner, args: list[str]) -> None:
    result = cli.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    json.loads(result.output)
    readable = cli.invoke(app, args)  # and read well without --json
    assert readable.exit_code == 0, readable.output
    assert "{'" not in readable.output and "['" not in readable.output  # no reprs


def test_route_plan_and_map(
    cli: CliRunner, demo_engine: Engine, tmp_path: Path
) -> None:
    cadre = _cadre(demo_engine)
    result = cli.invoke(
        app,
        ["visit-route", "plan", *T, "--cadre", cadre, "--time-limit", "0.2", "--json"],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["total_m"] > 0
    readable = cli.invoke(
        app, ["visit-route", "plan", *T, "--cadre", cadre, "--time-limit", "0.2"]
    )
    assert readable.exit_code == 0, readable.output
    first = plan["days"][0]["stops"][0]
    assert readable.output.startswith(f"网格员 {cadre} {plan['cadre_name']} · ")
    assert f"{first['household']}   {first['head_name']}" in readable.output
    assert ".0" not in readable.output  # whole metres and minutes
    out = tmp_path / "route.html"
    result = cli.invoke(app, ["map", "route", *T, "--cadre", cadre, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 1000


def test_unknown_township_is_one_line(cli: CliRunner) -> None:
    result = cli.invoke(app, ["coverage", "grids", "-t", "999999999999"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("error:")
    assert "999999999999" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "code", "names"),
    [
        (
            ["visits", "list", *T, "--limit", "5"],
            "household",
            ["head_name", "cadre_name"],
        ),
        (
            ["demands", "list", *T, "--limit", "5"],
            "household",
            ["head_name", "owner_name"],
        ),
        (["coverage", "uncovered", *T, "--limit", "5"], "household", ["head_name"]),
    ],
    ids=lambda a: " ".join(a[:2]) if isinstance(a, list) and len(a) > 2 else None,
)
def test_lists_show_names_beside_codes(
    cli: CliRunner, args: list[str], code: str, names: list[str]
) -> None:
    rows = json.loads(cli.invoke(app, [*args, "--json"]).output)
    readable = cli.invoke(app, args).output.splitlines()
    for row in rows:
        (line,) = [x for x in readable if f" {row[code]} " in f" {x} "]
        for name in names:
            assert row[name] and f" {row[name]} " in f" {line} ", (name, line)


def test_demand_words_in_chinese_are_codes() -> None:
    from grids.visits.cli import _code

    assert _code("demand_category", "就业") == "employment"
    assert _code("demand_status", "办理中") == "in_progress"
    assert _code("demand_status", "resolved") == "resolved"


def test_hazard_tables_read_in_chinese(cli: CliRunner) -> None:
    listed = cli.invoke(app, ["hazards", "list", *T, "--limit", "20"])
    assert listed.exit_code == 0, listed.output
    assert "编码" in listed.output and "等级" in listed.output
    for word in ("low", "medium", "high", "critical", "found", "rectifying"):
        assert f" {word} " not in f" {listed.output} ", word
    stats = cli.invoke(app, ["hazards", "stats", *T]).output
    assert "销号率" in stats and "(全镇)" in stats
    warned = cli.invoke(app, ["hazards", "warn", *T, "--kind", "滑坡"]).output
    assert warned.startswith("需预警") and "户主" in warned
