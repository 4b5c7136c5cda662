"""Map services: gather (and mask) the plain data, render it, return the page.

Each public ``*_page`` function is the one call a route or CLI command makes; the
``*_data`` functions are the data→map boundary (swap in the coverage, route and
dispute services here when they land) and ``maps.render`` stays pure.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import folium
from sqlalchemy.orm import Session

from gis_service.errors import InvalidInput
from gis_service.geojson import feature, feature_collection
from gis_service.privacy import mask_id_number, mask_phone
from gis_service.settings import MapSettings
from layers.models import MU_M2
from maps import queries
from maps.assets import URL_PREFIX, assets_available
from maps.basemaps import BASEMAPS, MapOptions
from maps.render import (
    CoverageData,
    DisputeData,
    RouteData,
    render_coverage,
    render_dispute,
    render_route,
    to_html,
)
from maps.route_placeholder import plan_placeholder_route

logger = logging.getLogger(__name__)

LOCAL_ASSET_BASE = URL_PREFIX + "/vendor"


def map_options(
    settings: MapSettings,
    *,
    basemap: str | None = None,
    asset_base: str = LOCAL_ASSET_BASE,
) -> MapOptions:
    """Map options from settings and an optional basemap override."""
    assets = settings.assets
    if assets == "local" and not assets_available():
        logger.warning("map assets were not fetched (make assets): linking the CDN")
        assets = "cdn"
    try:
        return MapOptions(
            basemap=basemap or settings.basemap,
            tianditu_key=settings.tianditu_key,
            assets=assets,
            asset_base=asset_base,
        )
    except ValueError as exc:
        raise InvalidInput(
            str(exc), errors=[{"field": "basemap", "reason": f"one of {BASEMAPS}"}]
        ) from exc


def _household_detail(row: dict[str, Any]) -> dict[str, Any]:
    """The popup summary of a household, personal data masked."""
    last = row.get("last_visit")
    return {
        "code": row["code"],
        "name": row["head_name"],
        "members": row["members"],
        "village": row.get("village"),
        "tags": "、".join(row.get("tags") or []),
        "cadre": row.get("cadre_name"),
        "last": last.date().isoformat() if last else None,
        "phone": mask_phone(row.get("phone")),
    }


def coverage_data(
    session: Session,
    *,
    township: str,
    grid: str | None = None,
    as_of: datetime | None = None,
) -> CoverageData:
    """Grids with coverage, households with status, hazards and open disputes."""
    as_of = as_of or datetime.now(UTC)
    path = queries.grid_path(session, township=township, grid_code=grid)
    households = [
        {
            "lon": r["lon"],
            "lat": r["lat"],
            "status": r["status"],
            "priority": r["priority"],
            **_household_detail(r),
        }
        for r in queries.household_rows(
            session, township=township, grid_path=path, as_of=as_of
        )
    ]
    grids = feature_collection(
        queries.grid_rows(session, township=township, grid_path=path, as_of=as_of)
    )
    title = queries.township_name(session, township=township)
    return CoverageData(
        title=f"{title} · {grid}" if grid else title,
        grids=grids,
        households=households,
        hazards=queries.hazard_rows(session, township=township, grid_path=path),
        disputes=feature_collection(
            queries.open_dispute_rows(session, township=township, grid_path=path)
        ),
    )


def coverage_map(
    session: Session,
    *,
    township: str,
    settings: MapSettings,
    grid: str | None = None,
    basemap: str | None = None,
    as_of: datetime | None = None,
    asset_base: str = LOCAL_ASSET_BASE,
) -> folium.Map:
    """The coverage map of a township or of one grid's subtree."""
    options = map_options(settings, basemap=basemap, asset_base=asset_base)
    data = coverage_data(session, township=township, grid=grid, as_of=as_of)
    return render_coverage(data, options)


def coverage_page(session: Session, **kwargs: Any) -> str:
    """The coverage map as an HTML page (see ``coverage_map`` for the arguments)."""
    return to_html(coverage_map(session, **kwargs))


def route_data(
    session: Session, *, township: str, cadre: str, as_of: datetime | None = None
) -> RouteData:
    """The cadre's visiting route (PLACEHOLDER order: maps/route_placeholder.py)."""
    row = queries.cadre_row(session, township=township, cadre_code=cadre)
    households = [
        {
            "lon": r["lon"],
            "lat": r["lat"],
            "label": f"{r['code']} {r['head_name']}",
            "detail": {"状态": r["status"], "电话": mask_phone(r.get("phone"))},
        }
        for r in queries.cadre_household_rows(
            session,
            township=township,
            cadre_id=row["id"],
            as_of=as_of or datetime.now(UTC),
        )
    ]
    return plan_placeholder_route(row, households)


def route_page(
    session: Session,
    *,
    township: str,
    cadre: str,
    settings: MapSettings,
    basemap: str | None = None,
    asset_base: str = LOCAL_ASSET_BASE,
) -> str:
    """The route map of one cadre as an HTML page."""
    options = map_options(settings, basemap=basemap, asset_base=asset_base)
    return to_html(
        render_route(route_data(session, township=township, cadre=cadre), options)
    )


def dispute_data(session: Session, *, township: str, dispute_id: int) -> DisputeData:
    """A dispute, both parcels with masked holders and areas in m² and mu."""
    dispute, parcels = queries.dispute_rows(
        session, township=township, dispute_id=dispute_id
    )
    for p in parcels:
        p["holder_phone"] = mask_phone(p.get("holder_phone"))
        p["holder_id_number"] = mask_id_number(p.get("holder_id_number"))
        p["area_mu"] = p["area_m2"] / MU_M2
    geometry = dispute.pop("geometry")
    return DisputeData(
        dispute=dispute,
        parcels=feature_collection(parcels),
        overlap=feature({}, geometry)["geometry"] if geometry else None,
    )


def dispute_page(
    session: Session,
    *,
    township: str,
    dispute_id: int,
    settings: MapSettings,
    basemap: str | None = None,
    asset_base: str = LOCAL_ASSET_BASE,
) -> str:
    """The map of one dispute as an HTML page."""
    options = map_options(settings, basemap=basemap, asset_base=asset_base)
    data = dispute_data(session, township=township, dispute_id=dispute_id)
    return to_html(render_dispute(data, options))
