"""The FastAPI application factory."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from gis_service import __version__
from gis_service.app.jobs import register_handlers
from gis_service.app.jobs import router as jobs_router
from gis_service.app.pages.hazards import router as hazard_pages_router
from gis_service.app.pages.ledgers import router as ledgers_router
from gis_service.app.pages.routes import router as pages_router
from gis_service.app.pages.signin import router as signin_router
from gis_service.app.pages.signin import unauthorized
from gis_service.app.routes import router as service_router
from gis_service.core.auth.deps import require_user
from gis_service.core.auth.login import prepare_service_login, service_database_url
from gis_service.core.auth.routes import audit_router
from gis_service.core.auth.routes import router as auth_router
from gis_service.core.auth.suppress import SuppressForViewers
from gis_service.core.csp import ContentSecurityPolicy
from gis_service.core.db import make_engine
from gis_service.core.deps import reject_unstorable_text
from gis_service.core.embedded import resolve_database_url
from gis_service.core.errors import Unauthorized, install_error_handlers
from gis_service.core.faults import (
    install_fault_handlers,
    is_disconnect,
    with_retries,
)
from gis_service.core.idempotency import Idempotency, remove_expired
from gis_service.core.limits import RequestGuard
from gis_service.core.openapi import document_problems
from gis_service.core.replicas import ReadRouter, remember_writes
from gis_service.core.schema import check_schema
from gis_service.core.settings import Settings
from gis_service.core.uploads import remove_stale_uploads
from grids.assignment.routes import router as grids_router
from grids.routing.routes import router as routing_router
from grids.visits.routes import province_router
from grids.visits.routes import router as visits_router
from layers.disputes.routes import router as disputes_router
from layers.hazards.rechecks import install as install_rechecks
from layers.hazards.routes import router as hazards_router
from layers.io.routes import router as layers_router
from layers.io.routes import schema_router as layer_schema_router
from layers.ogc.routes import router as ogc_router
from maps.assets import URL_PREFIX, assets_available
from maps.routes import router as maps_router

logger = logging.getLogger(__name__)
_FROZEN = False


def freeze_startup_objects() -> None:
    """Leave what start-up built out of every later garbage collection (once).

    A full collection walks every tracked object: with the libraries loaded that
    is some 300 000, and one request in ten paused 170-320 ms for it (a page's
    p95 at 12 800 households went from about 100 to over 400 ms). Objects alive
    after start-up live as long as the process; ``gc.freeze`` moves them out of
    the collector's reach, as servers that preload an app do. Once per process.
    """
    global _FROZEN
    if _FROZEN:
        return
    _FROZEN = True
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the engine is made once in the lifespan, not at import time."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        remove_stale_uploads(settings.limits)
        if getattr(app.state, "engine", None) is None:
            # the owner's login: start-up checks, the idempotency ledger, jobs
            url = resolve_database_url(settings.database_url, settings.embedded)
            app.state.owner_engine = make_engine(url, echo=settings.sql_echo)
            startup_check(app.state.owner_engine, settings)
            # requests: gridgis_service, which owns nothing (core/auth/login.py)
            service_url = service_database_url(settings, url)
            prepare_service_login(app.state.owner_engine, settings, service_url)
            app.state.engine = make_engine(
                service_url,
                echo=settings.sql_echo,
                pool_size=settings.db.pool_size,
                max_overflow=settings.db.max_overflow,
                pool_timeout=settings.db.pool_timeout_s,
            )
            owned = True
        else:
            owned = False  # a test injected its own engine
        replicas = [make_engine(u) for u in settings.read_database_url]
        if replicas:
            app.state.read_router = ReadRouter(app.state.engine, replicas)
        freeze_startup_objects()
        yield
        for replica in replicas:
            replica.dispose()
        if owned:
            app.state.engine.dispose()
            app.state.owner_engine.dispose()

    app = FastAPI(
        docs_url=None,  # served below, from local assets when they are installed
        title="GridGIS",
        version=__version__,
        summary="Grid-based governance of rural townships on PostGIS",
        lifespan=lifespan,
        dependencies=[Depends(reject_unstorable_text), Depends(require_user)],
    )
    app.state.settings = settings
    install_rechecks(settings.hazards)  # due hazard re-checks join cadres' routes
    app.state.engine = None  # requests' engine (the service login)
    app.state.owner_engine = None  # the owner's; None: ``engine`` serves both
    install_error_handlers(app)
    install_fault_handlers(app)
    register_handlers()
    if settings.read_database_url:
        app.middleware("http")(remember_writes)
    app.add_middleware(SuppressForViewers)  # a viewer's counts of 1-4: "<5"
    # First: routes are matched in order, and a map view or a GIS client sends
    # hundreds of /ogc requests (tiles) for every other one; all under /ogc.
    app.include_router(_summaries_from_docstrings(ogc_router))
    app.include_router(_summaries_from_docstrings(service_router))
    app.include_router(pages_router)
    app.include_router(signin_router)
    app.add_exception_handler(Unauthorized, unauthorized)
    app.include_router(_summaries_from_docstrings(auth_router))
    app.include_router(_summaries_from_docstrings(audit_router))
    app.include_router(ledgers_router)
    app.include_router(hazard_pages_router)
    app.include_router(_summaries_from_docstrings(grids_router))
    app.include_router(_summaries_from_docstrings(visits_router))
    app.include_router(_summaries_from_docstrings(province_router))
    app.include_router(_summaries_from_docstrings(routing_router))
    app.include_router(_summaries_from_docstrings(layers_router))
    app.include_router(_summaries_from_docstrings(layer_schema_router))
    app.include_router(_summaries_from_docstrings(disputes_router))
    app.include_router(_summaries_from_docstrings(hazards_router))
    app.include_router(_summaries_from_docstrings(maps_router))
    app.include_router(_summaries_from_docstrings(jobs_router))
    cdn = settings.map.assets != "local" or not assets_available()
    document_problems(app, limit_max=settings.page_limit_max)
    app.add_middleware(ContentSecurityPolicy, cdn=cdn)
    app.add_middleware(Idempotency)
    app.add_middleware(RequestGuard, limits=settings.limits)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        """Swagger UI from the assets fetched at install time (offline), else a CDN."""
        if not (assets_available() and settings.map.assets == "local"):
            return get_swagger_ui_html(openapi_url="/openapi.json", title="GridGIS API")
        base = URL_PREFIX + "/vendor/swagger-ui/"
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="GridGIS API",
            swagger_js_url=base + "swagger-ui-bundle.js",
            swagger_css_url=base + "swagger-ui.css",
            swagger_favicon_url="",
        )

    return app


def startup_check(engine: Engine, settings: Settings) -> None:
    """Start even if the database is down (503 until it answers); refuse a stale schema.

    Raises ``SchemaMismatch`` (one line naming the version and the fixing command)
    when the database answers with a schema other than the code's head.
    """
    try:
        if settings.db.check_schema:
            check_schema(engine)
        remove_expired(engine)  # idempotency answers past their 24 hours
    except DBAPIError as exc:
        if not is_disconnect(exc):
            raise
        logger.error(
            "database unreachable at start-up (%s); serving 503 until it answers",
            str(exc.orig).strip().splitlines()[0][:160] if exc.orig else "no answer",
        )


def _summaries_from_docstrings(router: APIRouter) -> APIRouter:
    """Use each route's one-line docstring as its OpenAPI summary (and retry faults)."""
    with_retries(router)
    for route in router.routes:
        if isinstance(route, APIRoute) and not route.summary and route.description:
            first = route.description.strip().split("\n\n")[0]
            route.summary = " ".join(first.split()).rstrip(".")
    return router
