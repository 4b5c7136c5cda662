"""The route map of one cadre: their planned route, with its grids as context.

The context is the grids the cadre serves and those grids' other households,
so the map reads without a basemap.

Kept apart from ``maps.service`` (coverage and dispute maps) so each module stays
readable; the page options (basemap, assets, locale) come from there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from gis_service.core.db import end_reads
from gis_service.core.errors import InvalidInput
from gis_service.core.geojson import feature_collection
from gis_service.core.i18n import N_, ZH, Gettext, same
from gis_service.core.settings import MapSettings
from grids.routing.planner import find_cadre, plan_route
from grids.visits.coverage import household_statuses
from grids.visits.schemas import RouteRequest
from maps import queries
from maps.render.coverage import RouteData, render_route, to_html
from maps.route_view import route_from_plan
from maps.service import LOCAL_ASSET_BASE, map_options


def _route_request(**values: Any) -> RouteRequest:
    """The planner's request with its defaults (as POST visit-routes)."""
    try:
        return RouteRequest.model_validate(values)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "route", "reason": e["msg"]}
            for e in exc.errors()
        ]
        raise InvalidInput(
            f"invalid route options: {errors[0]['reason']}", errors=errors
        ) from exc


def route_data(
    session: Session,
    *,
    township: str,
    cadre: str,
    as_of: datetime | None = None,
    closed: bool = True,
    per_day: int | None = None,
    start_lon: float | None = None,
    start_lat: float | None = None,
    gettext: Gettext = same,
) -> RouteData:
    """The planned route over the cadre's households due as of ``as_of``."""
    as_of = as_of or datetime.now(UTC)
    request = _route_request(
        cadre=cadre, as_of=as_of, closed=closed, per_day=per_day,
        start_lon=start_lon, start_lat=start_lat,
    )  # fmt: skip
    who = find_cadre(session, township=township, code=cadre)
    plan = plan_route(session, township=township, request=request)
    rows = household_statuses(session, township=township, as_of=as_of, cadre=cadre)
    start = N_("起点") if start_lon is not None else N_("驻地")
    route = route_from_plan(
        plan, cadre=dict(who), households={r["id"]: r for r in rows}, start=start,
        gettext=gettext,
    )  # fmt: skip
    _add_route_context(session, route, township=township, as_of=as_of, rows=rows)
    return route


def _add_route_context(
    session: Session,
    route: RouteData,
    *,
    township: str,
    as_of: datetime,
    rows: list[dict[str, Any]],
) -> None:
    """The cadre's grids and their other households: the map reads without tiles."""
    ids = sorted({r["grid_id"] for r in rows if r.get("grid_id") is not None})
    shapes = queries.grids_by_id(session, township=township, ids=ids) if ids else []
    route.grids = feature_collection(shapes)
    stops = {(s["lon"], s["lat"]) for s in route.stops}
    others: list[dict[str, Any]] = []
    for shape in shapes:
        others += [
            {"lon": r["lon"], "lat": r["lat"]}
            for r in household_statuses(
                session, township=township, as_of=as_of, grid=shape["code"]
            )
            if (r["lon"], r["lat"]) not in stops
        ]
    route.context = others


def route_page(
    session: Session,
    *,
    township: str,
    cadre: str,
    settings: MapSettings,
    basemap: str | None = None,
    asset_base: str = LOCAL_ASSET_BASE,
    locale: str = ZH,
    **route: Any,
) -> str:
    """The route map of one cadre as an HTML page (``route``: see ``route_data``)."""
    options = map_options(settings, basemap=basemap, asset_base=asset_base,
                          locale=locale)  # fmt: skip
    data = route_data(
        session, township=township, cadre=cadre, gettext=options.gettext, **route
    )
    end_reads(session)  # no lock held while it renders
    return to_html(render_route(data, options))
