"""Maps written to a file that opens offline: the assets are copied beside it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from gis_service.core.errors import InvalidInput
from gis_service.core.settings import MapSettings
from gis_service.core.townships import require_township
from maps import service
from maps.assets import copy_assets

logger = logging.getLogger(__name__)

PAGES: dict[str, Callable[..., str]] = {
    "coverage": service.coverage_page,
    "route": service.route_page,
    "dispute": service.dispute_page,
}


def write_map(
    session: Session,
    *,
    kind: str,
    township: str,
    out: Path,
    settings: MapSettings,
    **arguments: Any,
) -> dict[str, Any]:
    """Render a map to ``out``; local assets are copied into ``vendor/`` beside it."""
    if kind not in PAGES:
        raise InvalidInput(f"map kind {kind!r} is not one of {sorted(PAGES)}")
    if out.suffix.lower() not in (".html", ".htm"):
        raise InvalidInput(f"output {str(out)!r} must end in .html")
    require_township(session, township=township)  # NotFound first
    page = PAGES[kind](
        session, township=township, settings=settings, asset_base="vendor", **arguments
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    local = 'src="vendor/' in page
    assets = copy_assets(out.parent) if local else None
    return {
        "map": kind,
        "out": str(out),
        "bytes": len(page.encode()),
        "assets": str(assets) if assets else "cdn",
    }
