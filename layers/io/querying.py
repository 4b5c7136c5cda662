"""Reading layer rows: one SELECT per layer built from its spec, filters, masking.

Shared by the list/get endpoints and the export. Identifiers come from the spec;
filter fragments are constants below; every value is a bound parameter.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from gis_service.core.auth import audit
from gis_service.core.errors import InvalidInput
from gis_service.core.privacy import mask_id_number, mask_phone
from grids.tree.scope import SUBTREE_IDS_SQL
from layers.io.specs import LayerSpec

logger = logging.getLogger(__name__)

GEOJSON = "ST_AsGeoJSON(t.{geom}, 7)"
WKB = "ST_AsBinary(t.{geom})"

_SUBTREE = f"IN ({SUBTREE_IDS_SQL})"
# filter name -> SQL over the layer's row ``t`` (per-layer overrides first).
FILTERS: dict[str, str] = {
    "cadres.grid": f"t.home_grid_id {_SUBTREE}",
    "grid": f"t.grid_id {_SUBTREE}",
    "tag": "t.tags @> ARRAY[CAST(:tag AS varchar)]",
    "village": "t.village = :village",
    "cadre": "t.cadre_id = (SELECT x.id FROM cadres x WHERE x.township_code = :t "
    "AND x.code = :cadre)",
    "level": "t.level = :level",
    "parent": "t.parent_id = (SELECT x.id FROM grids x WHERE x.township_code = :t "
    "AND x.code = :parent)",
    "role": "t.role = :role",
    "status": "t.status = :status",
    "kind": "t.kind = :kind",
    "severity": "t.severity = :severity",
    "holder": "t.holder_household_id = (SELECT x.id FROM households x "
    "WHERE x.township_code = :t AND x.code = :holder)",
}
READ_ONLY = {
    "grid_code": "(SELECT x.code FROM grids x WHERE x.township_code = t.township_code "
    "AND x.id = t.grid_id)",
    "cadre_code": "(SELECT x.code FROM cadres x "
    "WHERE x.township_code = t.township_code AND x.id = t.cadre_id)",
    "depth": "t.depth",
}
MASKS = {"id_number": mask_id_number, "phone": mask_phone}


def _columns(spec: LayerSpec) -> list[str]:
    """Output columns: id, key, fields (refs as codes), read-only extras."""
    out = ["t.id"]
    for f in spec.fields:
        if f.ref is not None:
            table, column = f.ref
            out.append(
                f"(SELECT x.code FROM {table} x WHERE "
                f"x.township_code = t.township_code AND x.id = t.{column}) AS {f.name}"
            )
        else:
            out.append(f"t.{f.name}")
    out += [f"{READ_ONLY[c]} AS {c}" for c in spec.read_only]
    return out


def where_clause(
    spec: LayerSpec,
    *,
    filters: dict[str, str],
    bbox: tuple[float, float, float, float] | None,
) -> tuple[str, dict[str, Any]]:
    """WHERE over ``t`` for the township, bbox and attribute filters."""
    parts = ["t.township_code = :t"]
    params: dict[str, Any] = {}
    if bbox is not None:
        parts.append(
            f"t.{spec.geometry_column} && "
            "ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)"
        )
        params.update(zip(("minx", "miny", "maxx", "maxy"), bbox, strict=True))
    for name, value in filters.items():
        if name not in spec.filters:
            raise InvalidInput(
                f"layer {spec.name} cannot be filtered by {name!r}; it accepts "
                f"{', '.join(spec.filters) or 'no attribute filters'}",
                errors=[{"field": name, "reason": "not a filter of this layer"}],
            )
        enum = next((f for f in spec.fields if f.name == name and f.values), None)
        if enum is not None and value not in enum.values:
            raise InvalidInput(
                f"{name} {value!r} is not one of {', '.join(enum.values)}",
                errors=[{"field": name, "reason": f"one of {', '.join(enum.values)}"}],
            )
        parts.append(FILTERS.get(f"{spec.name}.{name}", FILTERS[name]))
        params[name] = value
    return " AND ".join(parts), params


def select(spec: LayerSpec, where: str, *, geometry: str, paged: bool) -> TextClause:
    """The layer's SELECT with ``geometry`` rendered as GEOJSON or WKB."""
    geom = geometry.format(geom=spec.geometry_column)
    tail = " LIMIT :limit OFFSET :offset" if paged else ""
    return text(
        f"SELECT {', '.join(_columns(spec))}, {geom} AS geometry "
        f"FROM {spec.source} t WHERE {where} ORDER BY t.{spec.key}{tail}"
    )


def count(spec: LayerSpec, where: str) -> TextClause:
    """How many rows match (numberMatched)."""
    return text(f"SELECT count(*) FROM {spec.source} t WHERE {where}")


def properties(
    spec: LayerSpec, row: dict[str, Any], *, unmask: bool = False
) -> dict[str, Any]:
    """JSON-ready properties with personal data masked (unless ``unmask``)."""
    out: dict[str, Any] = {}
    personal = {f.name for f in spec.fields if f.personal}
    for name, value in row.items():
        if name == "geometry":
            continue
        if name in personal and not unmask:
            value = MASKS[name](value)
        out[name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def audit_unmasked(
    session: Session,
    spec: LayerSpec,
    *,
    township: str,
    codes: list[str],
    export: str | None = None,
) -> None:
    """Record who saw which rows' personal data whole, before they are served.

    ``export``: the file format of an export (the entry says so and how many rows
    left in it), else a JSON read. Nothing for a layer without personal fields.
    """
    if not codes or not any(f.personal for f in spec.fields):
        return
    rows: dict[str, Any] = {"layer": spec.name, "codes": codes}
    if export is not None:
        rows |= {"export": export, "count": len(codes)}
    audit.record(session, action="unmask", township=township, rows=rows)
