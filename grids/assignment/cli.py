"""CLI commands of this package, registered on the ``gridgis`` app.

``register`` also appends the household assignment to the demo loader's
post-load hooks, so ``gridgis demo load`` ends with every household assigned.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gis_service.core.cli import (
    JsonOpt,
    TownshipOpt,
    cli_errors,
    cli_session,
    emit,
    fail,
)
from gis_service.core.job_cli import DetachOpt, WaitOpt, one_mode, run_as_job
from grids.assignment.display import (
    faults_text,
    integrity_text,
    redraw_text,
    rollup_text,
    summary_text,
)

WidthOpt = Annotated[
    float, typer.Option("--min-width", help="slivers/near-gaps narrower than this (m)")
]

grids_app = typer.Typer(
    help="Grids: hierarchy checks, integrity, reports, redraw.", no_args_is_help=True
)


def assign(
    township: TownshipOpt,
    detach: DetachOpt = False,
    wait: WaitOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Assign every household of a township to its grid and a cadre."""
    from grids.assignment.service import assign_households

    if one_mode(detach, wait):
        run_as_job(kind="assign", township=township, params={}, wait=wait,
                   as_json=as_json, render=summary_text)  # fmt: skip
        return
    with cli_errors(), cli_session() as session:
        summary = assign_households(session, township=township)
        emit(summary.model_dump(), as_json, summary_text)


@grids_app.command("check")
def check(
    township: TownshipOpt, min_width: WidthOpt = 5.0, as_json: JsonOpt = False
) -> None:
    """Grid hierarchy faults (overlaps, children outside, gaps, slivers)."""
    from grids.tree.hierarchy import hierarchy_report

    with cli_errors(), cli_session() as session:
        report = hierarchy_report(session, township=township, min_width_m=min_width)
        emit(report, as_json, faults_text)


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
        emit(report, as_json, integrity_text)


@grids_app.command("report")
def report(township: TownshipOpt, as_json: JsonOpt = False) -> None:
    """Per grid rolled up the tree: households, cadres, load, shortfall."""
    from grids.assignment.reports import grid_rollup

    with cli_errors(), cli_session() as session:
        rows = [r.model_dump() for r in grid_rollup(session, township=township)]
        emit(rows, as_json, rollup_text)


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
        emit(out.model_dump(), as_json, redraw_text)


def register(app: typer.Typer) -> None:
    """Add this package's commands to ``app``."""
    app.command("assign")(assign)
    app.add_typer(grids_app, name="grids")
