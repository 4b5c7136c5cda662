"""CLI for visit-route planning (``gridgis visit-route plan|day-plan``)."""

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
    dump,
    emit,
    fail,
    validated,
)
from grids.routing import day_plans
from grids.routing import planner as visit_routes
from grids.visits.cli import Until
from grids.visits.schemas import DayPlanRequest, RoutePlan, RouteRequest

route_app = typer.Typer(help="Visit-route planning.", no_args_is_help=True)


DISTANCE_WORDS = {"great_circle": "直线距离", "road_network": "沿道路距离"}


def _route_render(plan: dict[str, Any]) -> str:
    quality = (
        "最优路线"
        if plan["optimal"]
        else f"近似最优(与最优相差不超过 {plan['gap']:.0%})"
    )
    distance = DISTANCE_WORDS.get(plan["distance"], plan["distance"])
    lines = [
        f"{distance} · 共 {plan['total_m']:,.0f} 米 · 约 {plan['minutes']:.0f} 分钟"
        f" · {quality}"
    ]
    for day in plan["days"]:
        stops = " → ".join(
            (f"{s['household']} {s.get('head_name') or ''}".strip())
            if s.get("household")
            else (f"⚠{s['ref']}" if s.get("ref") else "?")
            for s in day["stops"]
        )
        metres, minutes = f"{day['total_m']:,.0f}", f"{day['minutes']:.0f}"
        head = f"第 {day['day']} 天: {metres} 米, 约 {minutes} 分钟"
        lines.append(f"{head}: {stops}")
    return "\n".join(lines + plan["flags"])


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
    emit(dump(out), as_json, _route_render)


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

    def render(p: dict[str, Any]) -> str:
        lines = [f"grid {p['grid']}: longest {p['longest_m']:.0f} m"]
        lines.append(f"total {p['total_m']:.0f} m")
        for c in p["cadres"]:
            share = f"{c['households']} households, {c['route']['total_m']:.0f} m"
            lines.append(f"{c['cadre']} {c['name']}: {share}")
        if p["left_over"]:
            lines.append("left for another day: " + ", ".join(p["left_over"]))
        return "\n".join(lines)

    emit(dump(out), as_json, render)


def register(app: typer.Typer) -> None:
    """Add this package's commands to ``app``."""
    app.add_typer(route_app, name="visit-route")
