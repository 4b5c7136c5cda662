"""HTTP routes of visit-route planning: one route, a grid's day plan."""

from __future__ import annotations

from fastapi import APIRouter

from gis_service.core.deps import SessionDep, TownshipDep
from grids.routing import day_plans
from grids.routing import planner as visit_routes
from grids.visits.schemas import DayPlanRequest, GridDayPlan, RoutePlan, RouteRequest

router = APIRouter(prefix="/townships/{township}", tags=["visit routes"])


@router.post("/visit-routes")
def plan_route(
    session: SessionDep, township: TownshipDep, request: RouteRequest
) -> RoutePlan:
    """An ordered visit route (exact up to 14 stops), split into days if needed."""
    return visit_routes.plan_route(session, township=township, request=request)


@router.post("/grids/{grid}/day-plan")
def plan_grid_day(
    session: SessionDep, township: TownshipDep, grid: str, request: DayPlanRequest
) -> GridDayPlan:
    """A day's routes for a grid's cadres, the longest as short as possible."""
    return day_plans.plan_grid_day(
        session, township=township, grid=grid, request=request
    )
