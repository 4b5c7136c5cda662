"""CLI commands of this package, registered on the ``gridgis`` app."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from gis_service.core.cli import JsonOpt, TownshipOpt, cli_errors, cli_session, emit
from gis_service.core.settings import get_settings

map_app = typer.Typer(
    help="Write coverage, route and dispute maps to HTML files that open offline.",
    no_args_is_help=True,
)

OutOpt = Annotated[Path, typer.Option("--out", help="the .html file to write")]
AsOfOpt = Annotated[
    datetime | None, typer.Option(help="judge visits as of this time (default now)")
]
BasemapOpt = Annotated[
    str | None,
    typer.Option(
        help="osm | tianditu | amap | none (default: tianditu with a key, else none)"
    ),
]
SingleFileOpt = Annotated[
    bool,
    typer.Option(
        "--single-file",
        help="one self-contained HTML file: scripts, styles and fonts inlined "
        "(no vendor/ folder)",
    ),
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
    as_of: AsOfOpt = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            help="start of the coverage period (default: as-of minus the default "
            "visit interval, see coverage rules)"
        ),
    ] = None,
    single_file: SingleFileOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Coverage map of a township or one grid's subtree."""
    _write(
        "coverage", township, out, as_json, grid=grid, basemap=basemap, as_of=as_of,
        since=since, single_file=single_file,
    )  # fmt: skip


def route(
    township: TownshipOpt,
    out: OutOpt,
    cadre: Annotated[str, typer.Option(help="the cadre's code")],
    basemap: BasemapOpt = None,
    as_of: AsOfOpt = None,
    start: Annotated[
        str | None, typer.Option(help="LON,LAT (default: the cadre's base)")
    ] = None,
    open_route: Annotated[
        bool, typer.Option("--open", help="do not return to the start")
    ] = False,
    per_day: Annotated[int | None, typer.Option(min=1, help="stops per day")] = None,
    single_file: SingleFileOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Route map of a cadre's due households, as planned by ``visit-route plan``."""
    from grids.routing.cli import parse_start

    lon, lat = parse_start(start)
    _write(
        "route", township, out, as_json, cadre=cadre, basemap=basemap, as_of=as_of,
        closed=not open_route, per_day=per_day, start_lon=lon, start_lat=lat,
        single_file=single_file,
    )  # fmt: skip


def dispute(
    township: TownshipOpt,
    out: OutOpt,
    dispute_id: Annotated[int, typer.Option("--id", help="the dispute's id")],
    basemap: BasemapOpt = None,
    single_file: SingleFileOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Map of one pasture-boundary dispute: both parcels and the overlap."""
    _write(
        "dispute", township, out, as_json, dispute_id=dispute_id, basemap=basemap,
        single_file=single_file,
    )  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add this package's commands to ``app``."""
    map_app.command("coverage")(coverage)
    map_app.command("route")(route)
    map_app.command("dispute")(dispute)
    app.add_typer(map_app, name="map")
