"""Service-wide routes: health and townships."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gis_service import __version__, townships
from gis_service.deps import SessionDep, TownshipDep

router = APIRouter()


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


@router.get("/townships/{township}", tags=["townships"])
def township_summary(session: SessionDep, township: TownshipDep) -> dict[str, Any]:
    """Row counts of every layer in one township."""
    return {
        "code": township,
        "counts": townships.township_counts(session, township=township),
    }
