"""CLI for visit-route planning (``gridgis visit-route plan|day-plan``)."""

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
    dump,
    emit,
    fail,
    validated,
)
from grids.routing import day_plans
from grids.routing import planner as visit_routes
from grids.routing.display import day_plan_text, route_text
from grids.visits.cli import Until
from grids.visits.schemas import DayPlanRequest, RoutePlan, RouteRequest

route_app = typer.Typer(help="Visit-route planning.", no_args_is_help=True)


def parse_start(start: str | None) -> tuple[float | None, float | None]:
    """``--start LON,LAT`` as two floats (None, None when not given)."""
    if not start:
        return None, None
    try:
        lon, lat = (float(v) for v in start.split(","))
    except ValueError:
        fail(f"--start {start!r} must be LON,LAT")
    return lon, lat


@route_app.command("plan")
def plan(
    township: TownshipOpt,
    cadre: Annotated[
        str | None, typer.Option(help="cadre code (their due households)")
    ] = None,
    household: Annotated[
        list[str] | None, typer.Option(help="household code, repeatable")
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="LON,LAT (default cadre base)")
    ] = None,
    open_route: Annotated[bool, typer.Option("--open", help="do not return")] = False,
    per_day: Annotated[
        int | None, typer.Option(min=1, help="households per day (split days)")
    ] = None,
    speed_kmh: Annotated[float, typer.Option(help="travel speed, km/h")] = 15.0,
    time_limit: Annotated[float, typer.Option(help="solver time limit, s")] = 2.0,
    geojson: Annotated[
        Path | None, typer.Option(help="write the route GeoJSON here")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Plan an ordered visit route (exact up to 14 stops)."""
    lon, lat = parse_start(start)
    request = validated(
        RouteRequest, cadre=cadre, households=household or None, start_lon=lon,
        start_lat=lat, closed=not open_route, per_day=per_day, speed_kmh=speed_kmh,
        time_limit_s=time_limit,
    )  # fmt: skip
    with cli_errors(), cli_session() as session:
        out: RoutePlan = visit_routes.plan_route(
            session, township=township, request=request
        )
    if geojson:
        geojson.write_text(
            json.dumps(out.geojson, ensure_ascii=False), encoding="utf-8"
        )
    emit(dump(out), as_json, route_text)


@route_app.command("day-plan")
def day_plan(
    grid: str,
    township: TownshipOpt,
    per_day: Annotated[int, typer.Option(min=1, help="households per day")] = 14,
    rebalance: Annotated[
        bool, typer.Option("--rebalance", help="any cadre, any household")
    ] = False,
    open_route: Annotated[bool, typer.Option("--open", help="do not return")] = False,
    time_limit: Annotated[float, typer.Option(help="solver time limit, s")] = 2.0,
    as_of: Until = None,
    as_json: JsonOpt = False,
) -> None:
    """A day's balanced routes for a grid's cadres (longest as short as possible)."""
    request = validated(
        DayPlanRequest, per_day=per_day, rebalance=rebalance, closed=not open_route,
        time_limit_s=time_limit, as_of=as_of,
    )  # fmt: skip
    with cli_errors(), cli_session() as session:
        out = day_plans.plan_grid_day(
            session, township=township, grid=grid, request=request
        )
    emit(dump(out), as_json, day_plan_text)


def register(app: typer.Typer) -> None:
    """Add this package's commands to ``app``."""
    app.add_typer(route_app, name="visit-route")
