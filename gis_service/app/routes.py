"""Service-wide routes: health and townships."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from gis_service import __version__
from gis_service.app.schemas import TownshipOut, TownshipUpdate
from gis_service.core import townships
from gis_service.core.deps import SessionDep, TownshipDep

router = APIRouter()
_NO_TOWNSHIP = (
    "<li>no township yet: <code>gridgis demo load</code>, or add your own with "
    "<code>gridgis townships add CODE --name NAME</code></li>"
)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(session: SessionDep) -> HTMLResponse:
    """A landing page for a grid leader: each township's maps, and the API docs."""
    items = "".join(
        f"<li>{escape(t['name'])} ({t['code']}, {t['households']} 户): "
        f'<a href="/townships/{t["code"]}/maps/coverage">'
        "走访覆盖地图 coverage map</a></li>"
        for t in townships.list_townships(session)
    )
    return HTMLResponse(
        '<!doctype html><html lang="zh"><meta charset="utf-8"><title>GridGIS</title>'
        "<h1>GridGIS 网格化管理</h1>"
        f"<ul>{items or _NO_TOWNSHIP}</ul>"
        '<p><a href="/docs">API documentation (OpenAPI)</a></p></html>'
    )


@router.get("/health", tags=["service"])
def health(session: SessionDep) -> dict[str, Any]:
    """Service and database health with the PostgreSQL and PostGIS versions."""
    return {
        "status": "ok",
        "gridgis": __version__,
        **townships.database_versions(session),
    }


@router.get("/townships", tags=["townships"])
def list_townships(session: SessionDep) -> list[dict[str, Any]]:
    """Townships served by this GridGIS."""
    return townships.list_townships(session)


@router.put("/townships/{code}", tags=["townships"], response_model=TownshipOut)
def save_township(
    session: SessionDep, code: str, body: TownshipUpdate
) -> dict[str, Any]:
    """Create a township (or rename it): do this before importing its layers."""
    return townships.save_township(
        session, code=code, name=body.name, county=body.county
    )


@router.get("/townships/{township}", tags=["townships"])
def township_summary(session: SessionDep, township: TownshipDep) -> dict[str, Any]:
    """Row counts of every layer in one township."""
    return {
        "code": township,
        "counts": townships.township_counts(session, township=township),
    }
