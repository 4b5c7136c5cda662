"""Maps written to a file that opens offline: assets copied beside it, or inlined."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from gis_service.core.errors import InvalidInput
from gis_service.core.settings import MapSettings
from gis_service.core.townships import require_township
from maps import cadre_route, service
from maps.assets import VENDOR_DIR, copy_assets
from maps.single_file import inline_assets

logger = logging.getLogger(__name__)

PAGES: dict[str, Callable[..., str]] = {
    "coverage": service.coverage_page,
    "route": cadre_route.route_page,
    "dispute": service.dispute_page,
}


def write_map(
    session: Session,
    *,
    kind: str,
    township: str,
    out: Path,
    settings: MapSettings,
    single_file: bool = False,
    **arguments: Any,
) -> dict[str, Any]:
    """Render a map to ``out``; local assets are copied into ``vendor/`` beside it.

    ``single_file``: the assets are inlined instead, so ``out`` is all there is.
    """
    if kind not in PAGES:
        raise InvalidInput(f"map kind {kind!r} is not one of {sorted(PAGES)}")
    if out.suffix.lower() not in (".html", ".htm"):
        raise InvalidInput(f"output {str(out)!r} must end in .html")
    require_township(session, township=township)  # NotFound first
    page = PAGES[kind](
        session, township=township, settings=settings, asset_base="vendor", **arguments
    )
    local = 'src="vendor/' in page
    if single_file:
        if not local:
            raise InvalidInput(
                "--single-file needs the vendored map assets (run `make assets`)"
            )
        page = inline_assets(page, VENDOR_DIR)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    if single_file:
        where = "inline"
    else:
        where = str(copy_assets(out.parent)) if local else "cdn"
    return {"map": kind, "out": str(out), "bytes": len(page.encode()), "assets": where}
