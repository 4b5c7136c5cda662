"""Which workbench links each role sees: cosmetic, the server enforces the same.

``gis_service.core.auth.policy`` refuses a viewer everything but aggregates and
row-level security narrows a cadre to their households; the header shows each
role only the pages it can use, so nobody clicks into a 403.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

# page key -> path under /w/{township} ("" is the home page); "map" is the API's
PATHS = {
    "home": "",
    "uncovered": "/uncovered",
    "mine": "/cadres/{cadre}",
    "hazards": "/hazards",
    "disputes": "/disputes",
    "demands": "/demands",
    "visit": "/visit",
    "map": "",
}
FULL = ("home", "uncovered", "hazards", "disputes", "demands", "visit", "map")
PAGES: dict[str, tuple[str, ...]] = {
    "admin": FULL,
    "grid_leader": FULL,
    "cadre": ("home", "mine", "uncovered", "visit"),
    "viewer": ("home",),
}
SEARCHERS = frozenset({"admin", "grid_leader", "cadre"})


def _role(principal: Any) -> str:
    return str(getattr(principal, "role", None) or "viewer")


def may_see(principal: Any, page: str) -> bool:
    """Whether the role's header (and the home page's cards) link to ``page``."""
    return page in PAGES.get(_role(principal), ())


def may_search(principal: Any) -> bool:
    """The search box lists names: not for a viewer (aggregates only)."""
    return _role(principal) in SEARCHERS


def nav_links(principal: Any, township: str) -> list[tuple[str, str]]:
    """(page key, href) of the header's links for this role, in order."""
    links = []
    for page in PAGES.get(_role(principal), ()):
        if page == "map":
            links.append((page, f"/townships/{township}/maps/coverage"))
            continue
        cadre = getattr(principal, "cadre_code", None)
        if page == "mine" and not cadre:
            continue
        path = PATHS[page].format(cadre=quote(str(cadre or ""), safe=""))
        links.append((page, f"/w/{township}{path}"))
    return links
