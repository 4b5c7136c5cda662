"""Service-wide routes: health and townships."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SATimeout

from gis_service import __version__
from gis_service.app.schemas import (
    HealthOut,
    TownshipListItem,
    TownshipOut,
    TownshipSummaryOut,
    TownshipUpdate,
)
from gis_service.core import townships
from gis_service.core.deps import SessionDep, TownshipDep
from gis_service.core.faults import ServiceUnavailable, classify

router = APIRouter()
_NO_TOWNSHIP = (
    "<li>no township yet: <code>gridgis demo load</code>, or add your own with "
    "<code>gridgis townships add CODE --name NAME</code></li>"
)


@router.get("/health", tags=["service"], response_model=HealthOut)
def health(session: SessionDep) -> dict[str, Any]:
    """Service and database health with the PostgreSQL and PostGIS versions.

    503 (with Retry-After) while the database does not answer; the next call
    after it returns is 200 again, no restart needed.
    """
    try:
        versions = townships.database_versions(session)
    except (DBAPIError, SATimeout) as exc:
        problem = classify(exc)
        if problem is None:
            raise
        raise ServiceUnavailable(
            "数据库暂不可用 (the database does not answer)",
            retry_after=5,
            database="unavailable",
            gridgis=__version__,
        ) from None
    return {"status": "ok", "database": "ok", "gridgis": __version__, **versions}


@router.get("/townships", tags=["townships"], response_model=list[TownshipListItem])
def list_townships(session: SessionDep) -> list[dict[str, Any]]:
    """Townships served by this GridGIS."""
    return townships.list_townships(session)


# {township} like GET's: one resource, one path template (an OPTIONS' Allow).
@router.put("/townships/{township}", tags=["townships"], response_model=TownshipOut)
def save_township(
    session: SessionDep, township: str, body: TownshipUpdate
) -> dict[str, Any]:
    """Create a township (or rename it): do this before importing its layers."""
    return townships.save_township(
        session, code=township, name=body.name, county=body.county
    )


@router.get(
    "/townships/{township}", tags=["townships"], response_model=TownshipSummaryOut
)
def township_summary(session: SessionDep, township: TownshipDep) -> dict[str, Any]:
    """Row counts of every layer in one township."""
    return {
        "code": township,
        "counts": townships.township_counts(session, township=township),
    }
