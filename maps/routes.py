"""HTTP routes of the maps package (parse, call one service, answer)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from gis_service.core import jobs
from gis_service.core.auth.deps import CurrentUser
from gis_service.core.deps import (
    LocaleDep,
    SessionDep,
    SettingsDep,
    TownshipDep,
    remember_locale,
)
from gis_service.core.errors import NotFound
from gis_service.core.inputs import Instant, RowId
from gis_service.core.pages import FeatureCollection, GeoJSONResponse
from maps import cadre_route, service
from maps.assets import STATIC_DIR, URL_PREFIX, assets_available
from maps.render.basemaps import BASEMAPS

router = APIRouter(tags=["maps"])

# The names as an enum in the OpenAPI (a client cannot guess them from "string");
# the service still checks the value, so a wrong one is a 422 that names it.
BasemapQuery = Annotated[
    str | None,
    Query(
        description="osm | tianditu | amap | none (default: settings.map.basemap)",
        json_schema_extra={"enum": list(BASEMAPS)},
    ),
]

AsOfQuery = Annotated[
    Instant | None, Query(description="judge visits as of this time (default now)")
]


@router.get(
    "/townships/{township}/maps/coverage",
    response_class=HTMLResponse,
    responses=jobs.ACCEPTED,
)
def coverage_map(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    township: TownshipDep,
    settings: SettingsDep,
    locale: LocaleDep,
    grid: Annotated[
        str | None, Query(description="code of a grid: its subtree")
    ] = None,
    basemap: BasemapQuery = None,
    as_of: AsOfQuery = None,
    since: Annotated[
        Instant | None,
        Query(
            description="start of the coverage period (default: as_of minus the "
            "default visit interval of the visit-rules)"
        ),
    ] = None,
    closed_hazards: Annotated[
        bool, Query(description="also draw closed (已销号) hazards")
    ] = False,
    background: jobs.AsyncDep = False,
) -> Response:
    """Coverage map: grids by coverage, households by status, hazards, disputes.

    With ``Prefer: respond-async`` a worker renders it whole (every household in
    the page, no tiles) and ``/jobs/{id}/output`` serves the file.
    """
    if background:
        params = {
            "user_id": user.id, "grid": grid, "basemap": basemap,
            "as_of": as_of.isoformat() if as_of else None,
            "since": since.isoformat() if since else None,
            "closed_hazards": closed_hazards, "locale": locale,
        }  # fmt: skip
        return jobs.accept(
            session,
            kind="coverage_map",
            township=township,
            params=params,
            created_by=user.username,
        )
    page = service.coverage_page(
        session,
        township=township,
        grid=grid,
        settings=settings.map,
        basemap=basemap,
        as_of=as_of,
        since=since,
        closed_hazards=closed_hazards,
        hazard_settings=settings.hazards,
        tiles_base=request.scope.get("root_path", "") + "/ogc",
        disputes_url=request.url_for("coverage_map_disputes", township=township).path
        + (f"?{urlencode({'grid': grid})}" if grid else ""),
        locale=locale,
    )
    return remember_locale(request, HTMLResponse(page))


@router.get(
    "/townships/{township}/maps/coverage/disputes",
    response_class=GeoJSONResponse,
    response_model=FeatureCollection,
    name="coverage_map_disputes",
)
def coverage_map_disputes(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    township: TownshipDep,
    locale: LocaleDep,
    grid: Annotated[
        str | None, Query(description="code of a grid: its subtree")
    ] = None,
) -> Response:
    """The coverage map's open dispute overlaps (its layer fetches them when on)."""
    collection = service.coverage_disputes(
        session, township=township, grid=grid, locale=locale
    )
    return remember_locale(request, GeoJSONResponse(collection))


@router.get("/townships/{township}/maps/routes/{cadre}", response_class=HTMLResponse)
def route_map(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    settings: SettingsDep,
    locale: LocaleDep,
    cadre: str,
    basemap: BasemapQuery = None,
    as_of: AsOfQuery = None,
    closed: Annotated[bool, Query(description="return to the start")] = True,
    per_day: Annotated[
        int | None, Query(ge=1, le=500, description="stops per day at most")
    ] = None,
    start_lon: Annotated[
        float | None, Query(ge=-180, le=180, description="default: the cadre's base")
    ] = None,
    start_lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
) -> HTMLResponse:
    """Route map of a cadre's due households: numbered stops, path, length and time."""
    page = cadre_route.route_page(
        session, township=township, cadre=cadre, settings=settings.map,
        basemap=basemap, as_of=as_of, closed=closed, per_day=per_day,
        start_lon=start_lon, start_lat=start_lat, locale=locale,
    )  # fmt: skip
    return remember_locale(request, HTMLResponse(page))


@router.get(
    "/townships/{township}/maps/disputes/{dispute_id}", response_class=HTMLResponse
)
def dispute_map(
    request: Request,
    session: SessionDep,
    township: TownshipDep,
    settings: SettingsDep,
    locale: LocaleDep,
    dispute_id: RowId,
    basemap: BasemapQuery = None,
) -> HTMLResponse:
    """Dispute map: both parcels, the overlap, holders (masked) and areas."""
    page = service.dispute_page(
        session,
        township=township,
        dispute_id=dispute_id,
        settings=settings.map,
        basemap=basemap,
        locale=locale,
    )
    return remember_locale(request, HTMLResponse(page))


@router.get(URL_PREFIX + "/{path:path}", include_in_schema=False)
def map_asset(path: str) -> FileResponse:
    """Leaflet, plugins and fonts for the map pages, served without internet."""
    return FileResponse(asset_file(path))


def asset_file(path: str) -> Path:
    """The file under maps/static for a ``/static/maps/<path>`` request."""
    rel = PurePosixPath(path)
    if rel.is_absolute() or ".." in rel.parts:
        raise NotFound(f"map asset {path!r} does not exist")
    target = STATIC_DIR.joinpath(*rel.parts)
    if not target.is_file():
        hint = "" if assets_available() else " (run `make assets` to fetch them)"
        raise NotFound(f"map asset {path!r} does not exist{hint}")
    return target
