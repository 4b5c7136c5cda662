"""What each role may do, as data: admin-only routes, viewers, PATCH fields.

The viewer's routes are aggregates; each role's PATCH may change only its
fields (mass assignment).

Rows are scoped by the database (RLS); these are the function-level checks
above it (403). Both lists are checked app-wide by route template, so a new
route is admin-only or viewer-hidden by adding it here, and a viewer never
reaches a route not listed.
"""

from __future__ import annotations

from collections.abc import Iterable

from gis_service.core.auth.principal import Principal
from gis_service.core.errors import Forbidden

T = "/townships/{township}"
ADMIN_ONLY = frozenset(
    {
        ("PUT", T),
        ("POST", f"{T}/assignment/run"),
        ("POST", f"{T}/grids/redraw/preview"),
        ("POST", f"{T}/grids/redraw"),
        ("PUT", f"{T}/visit-rules"),
        ("POST", f"{T}/layers/{{layer}}/import"),
        ("DELETE", f"{T}/layers/{{layer}}/items/{{code}}"),
        ("POST", f"{T}/disputes/detect"),
        ("GET", "/audit"),
    }
)
# A workflow step (a hazard rectified or closed, a dispute moved) is a grid
# leader's or an admin's act; a cadre records re-checks (复查) of their hazards.
LEADER_UP = frozenset(
    {
        ("POST", f"{T}/hazards/{{code}}/transitions"),
        ("POST", f"{T}/disputes/{{dispute_id:int}}/transitions"),
        ("POST", "/w/{township}/hazards/{code}/move"),
        ("POST", "/w/{township}/disputes/{dispute_id}/move"),
    }
)
# A viewer sees aggregates only: counts, rates, grid rollups; never a name.
VIEWER_GETS = frozenset(
    {
        "/",  # the workbench: a viewer's home page shows rates and counts only
        "/w/{township}",
        "/auth/me",
        "/townships",
        T,
        f"{T}/assignment/grids",
        f"{T}/coverage/grids",
        f"{T}/demands/closure",
        f"{T}/disputes/summary",
        f"{T}/grids/checks",
        "/summary/counties",
    }
)
GEOMETRY = "geometry"
# role -> layer -> properties (and "geometry") its PATCH may change; admins: all.
EDITABLE: dict[str, dict[str, frozenset[str]]] = {
    "grid_leader": {
        "households": frozenset(
            {"head_name", "members", "village", "address", "tags", "phone"}
            | {"id_number", GEOMETRY}
        ),
        "cadres": frozenset({"name", "phone", "capacity", "active"}),
    },
    "cadre": {
        # they call ahead and see the family: contact and circumstances only
        "households": frozenset({"members", "address", "tags", "phone"}),
    },
}


def check_route(user: Principal, method: str, path: str) -> None:
    """403 when the role may not use this route at all."""
    if (method, path) in ADMIN_ONLY and not user.is_admin:
        raise Forbidden(f"only an admin may {method} {path} (you are {user.role})")
    if (method, path) in LEADER_UP and user.role not in ("admin", "grid_leader"):
        raise Forbidden(
            f"only a grid leader or an admin may {method} {path} (you are {user.role})"
        )
    if user.role == "viewer" and not (
        method in ("GET", "HEAD") and path in VIEWER_GETS
    ):
        raise Forbidden(
            "a viewer sees aggregates only (counts, rates, grid rollups): "
            + ", ".join(sorted(VIEWER_GETS))
        )


def check_patch(user: Principal, layer: str, fields: Iterable[str]) -> None:
    """403 naming each field this role's PATCH may not change."""
    if user.is_admin:
        return
    allowed = EDITABLE.get(user.role, {}).get(layer, frozenset())
    refused = sorted(set(fields) - allowed)
    if refused:
        raise Forbidden(
            f"a {user.role} may not change {', '.join(refused)} of {layer}",
            errors=[
                {"field": f, "reason": "not editable by your role"} for f in refused
            ],
        )


def may_unmask(user: Principal) -> bool:
    """Unmasked ID numbers and phones: any role but viewer, for rows in scope.

    The scope is the database's: a cadre reads only their households, a grid
    leader their subtree, so whatever the query returns they may see whole.
    """
    return user.role != "viewer"
