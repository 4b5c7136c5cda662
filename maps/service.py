"""Map services: gather (and mask) the plain data, render it, return the page.

Each public ``*_page`` function is the one call a route or CLI command makes; the
``*_data`` functions are the data→map boundary and ``maps.render.coverage`` stays pure.
Household status and grid coverage come from ``grids.visits.coverage`` (one rule for the
reports and the maps), the route from ``grids.routing.planner.plan_route``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import folium
from sqlalchemy.orm import Session

from gis_service.core.db import end_reads
from gis_service.core.errors import InvalidInput
from gis_service.core.geojson import feature, feature_collection
from gis_service.core.i18n import ZH, Gettext, same, translator
from gis_service.core.inputs import as_utc
from gis_service.core.privacy import mask_id_number, mask_phone
from gis_service.core.settings import HazardSettings, MapSettings
from gis_service.core.townships import township_name
from gis_service.core.units import MU_M2
from grids.tree.scope import grid_path
from grids.visits.coverage import coverage_with_statuses, household_statuses
from layers.disputes.workflow import DISPUTE_WORKFLOW
from layers.models import HAZARD_KIND_LABELS
from maps import queries
from maps.assets import URL_PREFIX, assets_available
from maps.render.basemaps import BASEMAPS, MapOptions
from maps.render.coverage import (
    CoverageData,
    DisputeData,
    dispute_features,
    render_coverage,
    render_dispute,
    to_html,
)
from maps.render.vectortiles import HouseholdTiles

logger = logging.getLogger(__name__)

LOCAL_ASSET_BASE = URL_PREFIX + "/vendor"


def map_links(township: str) -> dict[str, str]:
    """Where a map's popups link: a cadre's workbench page, a dispute's page."""
    base = f"/w/{quote(township, safe='')}"
    return {"cadre": base + "/cadres/{code}", "dispute": base + "/disputes/{id}"}


def default_basemap(settings: MapSettings) -> str:
    """The configured basemap; unset: Tianditu when a key is set, else none."""
    if settings.basemap:
        return settings.basemap
    return "tianditu" if settings.tianditu_key else "none"


def map_options(
    settings: MapSettings,
    *,
    basemap: str | None = None,
    asset_base: str = LOCAL_ASSET_BASE,
    locale: str = ZH,
) -> MapOptions:
    """Map options from settings, an optional basemap override and the locale."""
    assets = settings.assets
    if assets == "local" and not assets_available():
        logger.warning("map assets were not fetched (make assets): linking the CDN")
        assets = "cdn"
    try:
        return MapOptions(
            basemap=basemap or default_basemap(settings),
            tianditu_key=settings.tianditu_key,
            assets=assets,
            asset_base=asset_base,
            gettext=translator(locale),
        )
    except ValueError as exc:
        raise InvalidInput(
            str(exc), errors=[{"field": "basemap", "reason": f"one of {BASEMAPS}"}]
        ) from exc


def _household_detail(row: dict[str, Any], gettext: Gettext) -> dict[str, Any]:
    """The popup summary of a household, personal data masked."""
    last = row.get("last_visit")
    tags = gettext("、").join(gettext(t) for t in row.get("tags") or [])
    return {
        "code": row["code"],
        "name": row["head_name"],
        "members": row["members"],
        "village": row.get("village"),
        "tags": tags,
        "cadre": row.get("cadre_name"),
        "cadre_code": row.get("cadre"),
        "last": last.date().isoformat() if last else None,
        "phone": mask_phone(row.get("phone")),
    }


def coverage_data(
    session: Session,
    *,
    township: str,
    grid: str | None = None,
    as_of: datetime | None = None,
    since: datetime | None = None,
    closed_hazards: bool = False,
    hazard_settings: HazardSettings | None = None,
    tiles_above: int | None = None,
    tiles_base: str | None = None,
    disputes_url: str | None = None,
    gettext: Gettext = same,
) -> CoverageData:
    """Grids with coverage, households with status, hazards and open disputes.

    Household status and the grid numbers are those of ``grids.visits.coverage``: grids
    are shaded by the share visited in [since, as_of), as GET coverage/grids. Closed
    hazards are left out unless ``closed_hazards``; a hazard without its own radius
    shows its kind's default (``hazard_settings``). With ``tiles_base`` (the served
    OGC root) and more than ``tiles_above`` households, the households are not read
    into the page: only their counts, and the map draws them from vector tiles.
    With ``disputes_url`` (a served page) the open overlaps are not read: their
    layer, off at first, fetches them from there (``coverage_disputes``).
    """
    as_of = as_of or datetime.now(UTC)
    title = township_name(session, township=township)
    path = grid_path(session, township=township, grid=grid) if grid else None
    report, tally = coverage_with_statuses(
        session, township=township, since=since, until=as_of, grid=grid
    )
    tiles = None
    if (
        tiles_base is not None
        and tiles_above is not None
        and report.township.households > tiles_above
    ):
        tiles = _household_tiles(township=township, as_of=as_of, base=tiles_base,
                                 tally=tally)  # fmt: skip
    households = (
        []
        if tiles is not None
        else [
            {
                "lon": r["lon"],
                "lat": r["lat"],
                "status": r["status"],
                "priority": r["priority"],
                **_household_detail(r, gettext),
            }
            for r in household_statuses(
                session,
                township=township,
                as_of=as_of,
                grid=grid,
                unassigned_inside=True,
            )
        ]
    )
    numbers = {r.id: r for r in report.rows}
    shapes = queries.grid_shapes(session, township=township, grid_path=path)
    for shape in shapes:
        row = numbers[shape["id"]]
        shape.update(
            households=row.households, visited=row.visited, up_to_date=row.up_to_date
        )
    return CoverageData(
        title=f"{title} · {grid}" if grid else title,
        grids=feature_collection(shapes),
        households=households,
        hazards=_hazards(
            queries.hazard_rows(
                session, township=township, grid_path=path, closed=closed_hazards
            ),
            hazard_settings or HazardSettings(),
        ),
        disputes=feature_collection(
            []
            if disputes_url is not None
            else _open_disputes(session, township=township, grid_path=path)
        ),
        period=f"{report.since.date().isoformat()} – {report.until.date().isoformat()}",
        household_tiles=tiles,
        links=map_links(township),
        disputes_url=disputes_url,
    )


def _open_disputes(
    session: Session, *, township: str, grid_path: str | None
) -> list[dict[str, Any]]:
    return [
        {**d, "status_label": DISPUTE_WORKFLOW.labels.get(d["status"])}
        for d in queries.open_dispute_rows(
            session, township=township, grid_path=grid_path
        )
    ]


def coverage_disputes(
    session: Session, *, township: str, grid: str | None = None, locale: str = ZH
) -> dict[str, Any]:
    """The coverage map's open overlaps, as its layer fetches them when switched on.

    The features a page would carry (popup and tooltip built and escaped here),
    in WGS 84: a page on a GCJ-02 basemap carries its overlaps instead.
    """
    path = grid_path(session, township=township, grid=grid) if grid else None
    rows = _open_disputes(session, township=township, grid_path=path)
    features = dispute_features(
        feature_collection(rows), map_links(township), translator(locale)
    )
    return {"type": "FeatureCollection", "features": features}


def _household_tiles(
    *, township: str, as_of: datetime, base: str, tally: dict[str, Any]
) -> HouseholdTiles:
    """The tile URL (status judged at ``as_of``) and the legend's counts."""
    when = quote(as_utc(as_of).isoformat().replace("+00:00", "Z"), safe="")
    url = f"{base.rstrip('/')}/tiles/{township}.visit_status/{{z}}/{{x}}/{{y}}.pbf"
    return HouseholdTiles(
        url=f"{url}?datetime={when}",
        counts=tally["statuses"],
        priority=tally["priority"],
    )


def _hazards(
    rows: list[dict[str, Any]], settings: HazardSettings
) -> list[dict[str, Any]]:
    """Kind names in Chinese, the radius that applies, the outline as GeoJSON."""
    for z in rows:
        z["kind_label"] = HAZARD_KIND_LABELS.get(z["kind"], z["kind"])
        if z["warn_radius_m"] is None:
            z["warn_radius_m"] = settings.warn_radius_m.get(z["kind"])
        if z.get("outline"):
            z["outline"] = feature({}, z["outline"])["geometry"]
        if z.get("deadline") is not None:
            z["deadline"] = z["deadline"].isoformat()
    return rows


def coverage_map(
    session: Session,
    *,
    township: str,
    settings: MapSettings,
    grid: str | None = None,
    basemap: str | None = None,
    as_of: datetime | None = None,
    since: datetime | None = None,
    asset_base: str = LOCAL_ASSET_BASE,
    closed_hazards: bool = False,
    hazard_settings: HazardSettings | None = None,
    tiles_base: str | None = None,
    disputes_url: str | None = None,
    locale: str = ZH,
) -> folium.Map:
    """The coverage map of a township or of one grid's subtree.

    ``tiles_base``: the OGC root a served page may fetch tiles from, and
    ``disputes_url`` where it may fetch its dispute overlaps (a file written for
    offline use has neither, so it always carries its households and overlaps).
    """
    options = map_options(settings, basemap=basemap, asset_base=asset_base,
                          locale=locale)  # fmt: skip
    if options.shift_gcj02:
        # tiles and fetched overlaps are WGS 84, not shifted to AMap's GCJ-02
        tiles_base = disputes_url = None
    data = coverage_data(
        session,
        township=township,
        grid=grid,
        as_of=as_of,
        since=since,
        closed_hazards=closed_hazards,
        hazard_settings=hazard_settings,
        tiles_above=settings.vector_tiles_above,
        tiles_base=tiles_base,
        disputes_url=disputes_url,
        gettext=options.gettext,
    )
    end_reads(session)  # no lock held while it renders
    return render_coverage(data, options)


def coverage_page(session: Session, **kwargs: Any) -> str:
    """The coverage map as an HTML page (see ``coverage_map`` for the arguments)."""
    return to_html(coverage_map(session, **kwargs))


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
    dispute["status_label"] = DISPUTE_WORKFLOW.labels.get(dispute["status"])
    return DisputeData(
        dispute=dispute,
        parcels=feature_collection(parcels),
        overlap=feature({}, geometry)["geometry"] if geometry else None,
        neighbours=feature_collection(
            queries.neighbour_parcels(session, township=township, dispute_id=dispute_id)
        ),
        links=map_links(township),
    )


def dispute_page(
    session: Session,
    *,
    township: str,
    dispute_id: int,
    settings: MapSettings,
    basemap: str | None = None,
    asset_base: str = LOCAL_ASSET_BASE,
    locale: str = ZH,
) -> str:
    """The map of one dispute as an HTML page."""
    options = map_options(settings, basemap=basemap, asset_base=asset_base,
                          locale=locale)  # fmt: skip
    data = dispute_data(session, township=township, dispute_id=dispute_id)
    end_reads(session)  # no lock held while it renders
    return to_html(render_dispute(data, options))
