"""CLI commands of this package, registered on the ``gridgis`` app."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from gis_service.cli import JsonOpt, TownshipOpt, cli_errors, cli_session, emit
from gis_service.settings import get_settings

map_app = typer.Typer(
    help="Write coverage, route and dispute maps to HTML files that open offline.",
    no_args_is_help=True,
)

OutOpt = Annotated[Path, typer.Option("--out", help="the .html file to write")]
BasemapOpt = Annotated[
    str | None, typer.Option(help="osm | tianditu | amap | none (default: settings)")
]


def _write(
    kind: str, township: str, out: Path, as_json: bool, **arguments: Any
) -> None:
    from maps.export import write_map

    with cli_errors(), cli_session() as session:
        result = write_map(
            session,
            kind=kind,
            township=township,
            out=out,
            settings=get_settings().map,
            **arguments,
        )
    emit(result, as_json)


def coverage(
    township: TownshipOpt,
    out: OutOpt,
    grid: Annotated[str | None, typer.Option(help="a grid code: its subtree")] = None,
    basemap: BasemapOpt = None,
    as_of: Annotated[
        datetime | None, typer.Option(help="judge visits as of this time")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Coverage map of a township or one grid's subtree."""
    _write("coverage", township, out, as_json, grid=grid, basemap=basemap, as_of=as_of)


def route(
    township: TownshipOpt,
    out: OutOpt,
    cadre: Annotated[str, typer.Option(help="the cadre's code")],
    basemap: BasemapOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Route map of one cadre: numbered stops, path, length and time."""
    _write("route", township, out, as_json, cadre=cadre, basemap=basemap)


def dispute(
    township: TownshipOpt,
    out: OutOpt,
    dispute_id: Annotated[int, typer.Option("--id", help="the dispute's id")],
    basemap: BasemapOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Map of one pasture-boundary dispute: both parcels and the overlap."""
    _write("dispute", township, out, as_json, dispute_id=dispute_id, basemap=basemap)


def register(app: typer.Typer) -> None:
    """Add this package's commands to ``app``."""
    map_app.command("coverage")(coverage)
    map_app.command("route")(route)
    map_app.command("dispute")(dispute)
    app.add_typer(map_app, name="map")
