"""CLI for visits, demands and coverage (``gridgis visits|demands|coverage``).

Every command calls the same service as the API, prints a readable summary (or JSON
with ``--json``) and exits non-zero with a one-line reason on failure.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from gis_service.core.cli import (
    JsonOpt,
    TownshipOpt,
    cli_errors,
    cli_session,
    dump,
    emit,
    fail,
    render_table,
    validated,
)
from gis_service.core.display import rows_table
from gis_service.core.errors import InvalidInput
from gis_service.core.vocab import LABELS, canonical, value_aliases
from grids.visits import coverage, demands
from grids.visits import log as visits
from grids.visits.schemas import (
    DemandCreate,
    DemandTransition,
    RuleSet,
)

visits_app = typer.Typer(help="The visit log (走访).", no_args_is_help=True)
demands_app = typer.Typer(help="The demand ledger (诉求清单).", no_args_is_help=True)
coverage_app = typer.Typer(
    help="Visit coverage and frequency rules.", no_args_is_help=True
)

Since = Annotated[datetime | None, typer.Option(help="period start")]
Until = Annotated[datetime | None, typer.Option(help="period end (default now)")]
FarM = Annotated[float, typer.Option(help="flag GPS fixes farther than this (m)")]
Limit = Annotated[int, typer.Option(min=1, max=10_000, help="at most this many rows")]


def _code(vocabulary: str, word: str) -> str:
    """The code of a word the user typed (就业 -> employment; codes stay)."""
    return canonical(word, LABELS[vocabulary], value_aliases(vocabulary))


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Rows as a table aligned by display width, with Chinese headers and names."""
    return rows_table(rows, columns)


# -- visits -------------------------------------------------------------------------
@visits_app.command("import")
def import_visits(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV or JSON")
    ],
    township: TownshipOpt,
    far_m: FarM = visits.FAR_FIX_M,
    field_map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="TARGET=SOURCE: read field TARGET (household, visited_at, ...) "
            "from column SOURCE; repeatable",
        ),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="the CSV's encoding, e.g. GBK (else detected)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a day's visits from a CSV or JSON file: all or nothing."""
    from gis_service.core.columns import parse_field_map

    media = "application/json" if file.suffix.lower() == ".json" else "text/csv"
    with cli_errors(), cli_session() as session:
        try:
            batch = visits.import_visits(
                session, township=township, content=file.read_bytes(), media_type=media,
                actor="cli", far_m=far_m, field_map=parse_field_map(field_map),
                encoding=encoding,
            )  # fmt: skip
        except InvalidInput as exc:
            if not as_json:
                for err in exc.errors[:20]:
                    row = err.get("row", err.get("feature"))
                    where = f"row {row}: " if row is not None else ""
                    typer.echo(
                        f"  {where}{err.get('field')}: {err.get('reason')}", err=True
                    )
            raise
    emit(
        dump(batch),
        as_json,
        lambda b: (
            f"{b['inserted']} visits, {b['demands']} demands recorded; "
            f"{b['far']} GPS fixes over {far_m:.0f} m"
            + "".join(f"\nwarning: {w}" for w in b.get("warnings", []))
        ),
    )


@visits_app.command("list")
def list_visits(
    township: TownshipOpt,
    household: Annotated[str | None, typer.Option(help="household code")] = None,
    cadre: Annotated[str | None, typer.Option(help="cadre code")] = None,
    since: Since = None,
    until: Until = None,
    far_only: Annotated[
        bool, typer.Option("--far-only", help="only far GPS fixes")
    ] = False,
    far_m: FarM = visits.FAR_FIX_M,
    limit: Limit = 100,
    as_json: JsonOpt = False,
) -> None:
    """Visits newest first (``--far-only``: probably not made on site)."""
    with cli_errors(), cli_session() as session:
        rows = visits.list_visits(
            session, township=township, household=household, cadre=cadre, since=since,
            until=until, far_only=far_only, far_m=far_m, limit=limit,
        ).items  # fmt: skip
    cols = ["id", "household", "head_name", "cadre", "cadre_name", "visited_at",
            "purpose", "fix_distance_m", "far"]  # fmt: skip
    emit(dump(rows), as_json, lambda r: _table(r, cols))


# -- demands ------------------------------------------------------------------------
@demands_app.command("add")
def add_demand(
    township: TownshipOpt,
    household: Annotated[str, typer.Option(help="household code")],
    category: Annotated[str, typer.Option(help="就业, 医疗, ... or employment, ...")],
    description: Annotated[str, typer.Option(help="what the household asks for")],
    due: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="due date")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="owner cadre code")] = None,
    actor: Annotated[str, typer.Option(help="who records it")] = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Record a demand of a household."""
    category = _code("demand_category", category)
    demand = validated(
        DemandCreate, household=household, category=category, description=description,
        due_date=due.date() if due else None, owner=owner, actor=actor,
    )  # fmt: skip
    with cli_errors(), cli_session() as session:
        out = demands.create_demand(session, township=township, demand=demand)
    emit(dump(out), as_json, _demand_text)


def _demand_text(d: dict[str, Any]) -> str:
    """One demand as a one-row table."""
    return _table([d], ["id", "household", "head_name", "category", "status",
                        "owner", "owner_name", "due_date"])  # fmt: skip


@demands_app.command("move")
def move_demand(
    demand_id: int,
    status: Annotated[
        str, typer.Argument(help="办理中, 已办结, 已上报 (in_progress, resolved, ...)")
    ],
    township: TownshipOpt,
    actor: Annotated[str, typer.Option(help="who takes this step")] = "cli",
    note: Annotated[str | None, typer.Option(help="a note for the history")] = None,
    resolution: Annotated[str | None, typer.Option(help="how it was resolved")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a demand to a new status (illegal moves are refused)."""
    status = _code("demand_status", status)
    change = validated(
        DemandTransition, status=status, actor=actor, note=note, resolution=resolution
    )
    with cli_errors(), cli_session() as session:
        out = demands.transition_demand(
            session, township=township, demand_id=demand_id, change=change
        )
    emit(dump(out), as_json, _demand_text)


@demands_app.command("list")
def list_demands(
    township: TownshipOpt,
    status: Annotated[
        str | None, typer.Option(help="open, in_progress, resolved or escalated")
    ] = None,
    grid: Annotated[str | None, typer.Option(help="grid code (its subtree)")] = None,
    owner: Annotated[str | None, typer.Option(help="owner cadre code")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="overdue only")] = False,
    as_of: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="overdue as of this day"),
    ] = None,
    limit: Limit = 100,
    as_json: JsonOpt = False,
) -> None:
    """The ledger, most overdue first (``--overdue`` for the overdue list)."""
    with cli_errors(), cli_session() as session:
        rows = demands.list_demands(
            session, township=township, status=status, grid=grid, owner=owner,
            overdue_only=overdue, as_of=as_of.date() if as_of else None, limit=limit,
        ).items  # fmt: skip
    cols = ["id", "household", "head_name", "category", "status", "owner",
            "owner_name", "due_date", "overdue_days"]  # fmt: skip
    emit(dump(rows), as_json, lambda r: _table(r, cols))


@demands_app.command("history")
def demand_history(
    demand_id: int, township: TownshipOpt, as_json: JsonOpt = False
) -> None:
    """Every status change of a demand."""
    with cli_errors(), cli_session() as session:
        rows = demands.demand_history(session, township=township, demand_id=demand_id)
    emit(
        dump(rows),
        as_json,
        lambda r: _table(r, ["at", "from_status", "to_status", "actor", "note"]),
    )


@demands_app.command("closure")
def closure(
    township: TownshipOpt,
    since: Since = None,
    until: Until = None,
    as_json: JsonOpt = False,
) -> None:
    """Closure rate of the township and of every grid (rolled up)."""
    with cli_errors(), cli_session() as session:
        report = demands.closure_report(
            session, township=township, since=since, until=until
        )

    def render(r: dict[str, Any]) -> str:
        rows = [
            {"grid": "  " * (g["depth"] or 0) + (g["code"] or ""), **g}
            for g in r["grids"]
        ]
        head = r["township"]
        return f"{head['name']}: {_closure_words(head)}\n" + _table(
            rows, ["grid", "name", "collected", "resolved", "closure_rate", "overdue"]
        )

    emit(dump(report), as_json, render)


def _closure_words(row: dict[str, Any]) -> str:
    """受理 40 件, 办结 30 件, 办结率 75.0%."""
    rate = row["closure_rate"]
    shown = "—" if rate is None else f"{rate:.1%}"
    return f"受理 {row['collected']} 件, 办结 {row['resolved']} 件, 办结率 {shown}"


# -- coverage -----------------------------------------------------------------------
def _coverage_render(r: dict[str, Any]) -> str:
    t = r["township"]
    head = (
        f"{r['since'][:10]} 至 {r['until'][:10]}: 已走访 {t['visited']}/"
        f"{t['households']} 户, 应走访 {t['due']} 户"
    )
    cols = [
        "code",
        "name",
        "households",
        "visited",
        "up_to_date",
        "due",
        "visits",
        "far_visits",
    ]
    return head + "\n" + _table(r["rows"], cols)


@coverage_app.command("grids")
def coverage_grids(
    township: TownshipOpt,
    since: Since = None,
    until: Until = None,
    grid: Annotated[str | None, typer.Option(help="grid code (its subtree)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Households visited and up to date per grid (rolled up the tree)."""
    with cli_errors(), cli_session() as session:
        report = coverage.coverage_by_grid(
            session, township=township, since=since, until=until, grid=grid
        )
    emit(dump(report), as_json, _coverage_render)


@coverage_app.command("counties")
def coverage_counties(until: Until = None, as_json: JsonOpt = False) -> None:
    """Coverage and closure rates (办结率) of every county (province summary)."""
    from grids.visits.summary import county_summary

    with cli_errors(), cli_session() as session:
        rows = county_summary(session, until=until)
    cols = ["county", "townships", "households", "up_to_date", "coverage_rate",
            "demands", "resolved", "closure_rate"]  # fmt: skip
    emit(rows, as_json, lambda r: _table(r, cols))


@coverage_app.command("cadres")
def coverage_cadres(
    township: TownshipOpt,
    since: Since = None,
    until: Until = None,
    cadre: Annotated[str | None, typer.Option(help="cadre code")] = None,
    far_m: FarM = visits.FAR_FIX_M,
    as_json: JsonOpt = False,
) -> None:
    """Coverage per cadre, with visits made and far GPS fixes."""
    with cli_errors(), cli_session() as session:
        report = coverage.coverage_by_cadre(
            session,
            township=township,
            since=since,
            until=until,
            cadre=cadre,
            far_m=far_m,
        )
    emit(dump(report), as_json, _coverage_render)


@coverage_app.command("uncovered")
def uncovered(
    township: TownshipOpt, as_of: Until = None,
    grid: Annotated[str | None, typer.Option(help="grid code (its subtree)")] = None,
    cadre: Annotated[str | None, typer.Option(help="cadre code")] = None,
    limit: Limit = 100, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Households never visited or overdue, most overdue first."""
    with cli_errors(), cli_session() as session:
        rows = coverage.uncovered_households(
            session, township=township, as_of=as_of, grid=grid, cadre=cadre, limit=limit
        ).items
    cols = ["household", "head_name", "tags", "cadre", "cadre_name", "interval_days",
            "last_visit", "overdue_days", "distance_to_base_m"]  # fmt: skip
    emit(dump(rows), as_json, lambda r: _table(r, cols))


@coverage_app.command("rules")
def rules(
    township: TownshipOpt,
    default_days: Annotated[
        int | None, typer.Option(help="everyone's interval")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option(help="TAG=DAYS, repeatable")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the visit-frequency rules, or replace them with --default-days/--tag."""
    with cli_errors(), cli_session() as session:
        if default_days is None and not tag:
            out = coverage.load_rules(session, township=township)
        else:
            pairs = [t.split("=", 1) for t in tag or []]
            if any(len(p) != 2 or not p[1].isdigit() for p in pairs):
                fail("--tag must look like 脱贫不稳定户=30")
            everyone = default_days or coverage.DEFAULT_RULES.default_days
            ruleset = validated(
                RuleSet, default_days=everyone, tags={k: int(v) for k, v in pairs}
            )
            out = coverage.set_rules(session, township=township, rules=ruleset)
    emit(dump(out), as_json, _rules_text)


def _rules_text(rules: dict[str, Any]) -> str:
    """One line per rule: days between visits."""
    rows = [["全部农户", str(rules["default_days"])]]
    rows += [[f"户类别 {t}", str(d)] for t, d in rules["tags"].items()]
    return render_table(["走访对象", "走访周期(天)"], rows, right=[1])


def register(app: typer.Typer) -> None:
    """Add this package's commands to ``app``."""
    app.add_typer(visits_app, name="visits")
    app.add_typer(demands_app, name="demands")
    app.add_typer(coverage_app, name="coverage")
