"""CLI commands of this package, registered on the ``gridgis`` app.

``register`` also appends the household assignment to the demo loader's
post-load hooks, so ``gridgis demo load`` ends with every household assigned.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from gis_service.core.cli import (
    JsonOpt,
    TownshipOpt,
    cli_errors,
    cli_session,
    emit,
    fail,
)

WidthOpt = Annotated[
    float, typer.Option("--min-width", help="slivers/near-gaps narrower than this (m)")
]

grids_app = typer.Typer(
    help="Grids: hierarchy checks, integrity, reports, redraw.", no_args_is_help=True
)


def _summary_text(s: dict[str, Any]) -> str:
    opt, greedy = s["optimiser"], s["greedy_baseline"]
    lines = [
        f"township {s['township']}: {s['households']} households, "
        f"{s['in_grid']} in a grid, {s['outside_every_grid']} outside every grid",
        f"grid changed {s['grid_changed']}, cadre assigned {s['cadre_assigned']} "
        f"(new {s['newly_assigned']}, churn {s['churn']}, pinned kept "
        f"{s['pinned_kept']}), rows written {s['rows_written']}",
        "unassigned: "
        + (", ".join(f"{k} {v}" for k, v in s["unassigned"].items()) or "none"),
        f"objective {opt['objective']} (greedy {greedy['objective']}); mean distance "
        f"{opt['mean_distance_m']} m (greedy {greedy['mean_distance_m']} m); max "
        f"priority per cadre {opt['max_priority_per_cadre']} "
        f"(greedy {greedy['max_priority_per_cadre']})",
    ]
    lines += [
        f"  outside: {o['code']} nearest {o['nearest_grid']} at {o['distance_m']} m"
        for o in s["outside"]
    ]
    return "\n".join([*lines, f"{s['seconds']} s"])


def assign(township: TownshipOpt, as_json: JsonOpt = False) -> None:
    """Assign every household of a township to its grid and a cadre."""
    from grids.assignment.service import assign_households

    with cli_errors(), cli_session() as session:
        summary = assign_households(session, township=township)
        emit(summary.model_dump(), as_json, _summary_text)


@grids_app.command("check")
def check(
    township: TownshipOpt, min_width: WidthOpt = 5.0, as_json: JsonOpt = False
) -> None:
    """Grid hierarchy faults (overlaps, children outside, gaps, slivers)."""
    from grids.tree.hierarchy import hierarchy_report

    with cli_errors(), cli_session() as session:
        report = hierarchy_report(session, township=township, min_width_m=min_width)
        emit(report, as_json, _faults_text)


def _faults_text(report: dict[str, Any]) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in report["counts"].items())
    lines = [f"{report['grids_checked']} grids checked: {counts}"]
    for f in report["features"]:
        p = f["properties"]
        lines.append(
            f"  {p['kind']}: {', '.join(p['grids'])} "
            f"area {p['area_m2']} m² length {p['length_m']} m"
        )
    return "\n".join(lines)


@grids_app.command("integrity")
def integrity(
    township: TownshipOpt, min_width: WidthOpt = 5.0, as_json: JsonOpt = False
) -> None:
    """Grid, household and cadre faults in one report."""
    from grids.assignment.integrity import integrity_report

    with cli_errors(), cli_session() as session:
        report = integrity_report(session, township=township, min_width_m=min_width)
        if not as_json:  # the readable form leaves the fault geometries out
            report["grids"].pop("faults")
        emit(report, as_json, _pretty)


def _pretty(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


@grids_app.command("report")
def report(township: TownshipOpt, as_json: JsonOpt = False) -> None:
    """Per grid rolled up the tree: households, cadres, load, shortfall."""
    from grids.assignment.reports import grid_rollup

    with cli_errors(), cli_session() as session:
        rows = [r.model_dump() for r in grid_rollup(session, township=township)]
        emit(rows, as_json, _rollup_text)


def _rollup_text(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        lines.append(
            f"{'  ' * r['depth']}{r['code']} {r['level']}: "
            f"{r['households']} households, {r['people']} people, "
            f"{r['cadres']} cadres, {r['assigned']} assigned"
            + (f" - {r['shortfall']}" if r["shortfall"] else "")
        )
    return "\n".join(lines)


@grids_app.command("redraw")
def redraw(
    township: TownshipOpt,
    geojson: Annotated[Path, typer.Argument(help="FeatureCollection with 'code'")],
    save: Annotated[bool, typer.Option(help="store outlines and apply")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Preview (or --save) new grid outlines from a GeoJSON file."""
    from grids.assignment.redraw import redraw_grids
    from grids.assignment.schemas import RedrawIn

    with cli_errors():
        try:
            features = json.loads(geojson.read_text(encoding="utf-8"))["features"]
            outlines = [
                {"code": f["properties"]["code"], "geometry": f["geometry"]}
                for f in features
            ]
            body = RedrawIn.model_validate({"grids": outlines})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            fail(f"cannot read {geojson}: {exc}")
        with cli_session() as session:
            out = redraw_grids(session, township=township, redraw=body, save=save)
        emit(out.model_dump(), as_json, _pretty)


def register(app: typer.Typer) -> None:
    """Add this package's commands to ``app``."""
    app.command("assign")(assign)
    app.add_typer(grids_app, name="grids")
