"""Service-wide routes: health and townships."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gis_service import __version__
from gis_service.app.schemas import TownshipOut, TownshipUpdate
from gis_service.core import townships
from gis_service.core.deps import SessionDep, TownshipDep

router = APIRouter()
_NO_TOWNSHIP = (
    "<li>no township yet: <code>gridgis demo load</code>, or add your own with "
    "<code>gridgis townships add CODE --name NAME</code></li>"
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
