"""Read and edit layer features: list (bbox, filters, paging), get, patch, delete.

PATCH goes through the import pipeline with a one-feature frame, so an edit is
validated exactly like an imported feature (and masked personal values sent back
keep the stored ones). Moving a household re-runs its grid assignment through
``layers.io.hooks.households_moved`` (the ASSIGNMENT HOOK), called by the import
pipeline in the same transaction.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

import geopandas as gpd
from pyproj import CRS
from shapely.geometry import shape

import grids.models  # noqa: F401  (every model's foreign keys are read)
import layers.models  # noqa: F401
from gis_service.core.db import Base, atomic
from gis_service.core.errors import Conflict, InvalidInput, NotFound
from gis_service.core.geojson import feature
from gis_service.core.pages import GEOJSON, page_links
from layers.io import querying, staging
from layers.io.importing import import_features
from layers.io.reading import ReadResult
from layers.io.specs import LayerSpec, get_layer

logger = logging.getLogger(__name__)

# How a referencing table is named in a refusal (default: the table name).
REFERRER_NOUNS = {
    "grids": "child grids",
    "household_assignments": "households",
    "pasture_parcels": "pasture parcels",
}


@cache
def references(table: str) -> tuple[tuple[str, str, str], ...]:
    """What still points at a row of ``table`` (table, column, noun), from the ORM.

    Every foreign key to ``table`` that does not cascade: deleting the row would
    leave it dangling (or fail), so the delete is refused naming them. Read from
    the models' foreign keys, so a new reference is covered without a list here.
    """
    found = []
    for other in Base.metadata.sorted_tables:
        for fk in other.foreign_key_constraints:
            if fk.referred_table.name != table or fk.ondelete == "CASCADE":
                continue
            (column,) = (c.name for c in fk.columns if c.name != "township_code")
            found.append(
                (other.name, column, REFERRER_NOUNS.get(other.name, other.name))
            )
    return tuple(sorted(found))


def list_features(
    session: Session,
    *,
    township: str,
    layer: str,
    bbox: tuple[float, float, float, float] | None = None,
    filters: dict[str, str] | None = None,
    limit: int = 100,
    offset: int = 0,
    url: str | None = None,
    unmask: bool = False,
) -> dict[str, Any]:
    """A page of features as a FeatureCollection with OGC paging members.

    ``unmask`` shows personal data whole and writes an audit entry naming the rows.
    """
    spec = get_layer(layer)
    where, params = querying.where_clause(spec, filters=filters or {}, bbox=bbox)
    params.update(t=township, limit=limit, offset=offset)
    matched = int(session.execute(querying.count(spec, where), params).scalar_one())
    statement = querying.select(spec, where, geometry=querying.GEOJSON, paged=True)
    rows = [dict(r) for r in session.execute(statement, params).mappings()]
    features = [_feature(spec, row, unmask) for row in rows]
    if unmask:
        codes = [r[spec.key] for r in rows]
        querying.audit_unmasked(session, spec, township=township, codes=codes)
    links = page_links(
        url, limit=limit, offset=offset, matched=matched, media_type=GEOJSON
    )
    return {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": matched,
        "numberReturned": len(features),
        "links": [link.model_dump() for link in links],
    }


def _feature(spec: LayerSpec, row: dict[str, Any], unmask: bool) -> dict[str, Any]:
    props = querying.properties(spec, row, unmask=unmask)
    return feature(props, row["geometry"], fid=row[spec.key])


def get_feature(
    session: Session, *, township: str, layer: str, code: str, unmask: bool = False
) -> dict[str, Any]:
    """One feature by its external code (contract number for parcels)."""
    spec = get_layer(layer)
    where = f"t.township_code = :t AND t.{spec.key} = :code"
    statement = querying.select(spec, where, geometry=querying.GEOJSON, paged=False)
    row = session.execute(statement, {"t": township, "code": code}).mappings().first()
    if row is None:
        raise NotFound(f"{spec.name} {code!r} does not exist in township {township}")
    if unmask:
        querying.audit_unmasked(session, spec, township=township, codes=[code])
    return _feature(spec, dict(row), unmask)


def patch_feature(
    session: Session,
    *,
    township: str,
    layer: str,
    code: str,
    properties: dict[str, Any],
    geometry: dict[str, Any] | None = None,
    geometry_given: bool = False,
) -> dict[str, Any]:
    """Change some properties and/or the geometry, validated like an import.

    A new ``code`` (contract number for parcels) renames the feature: its rows
    elsewhere point at its id, so nothing else changes.
    """
    spec = get_layer(layer)
    get_feature(session, township=township, layer=spec.name, code=code)  # 404 first
    names = {f.name for f in spec.fields}
    unknown = [k for k in properties if k not in names]
    if unknown:
        raise InvalidInput(
            f"cannot set {', '.join(unknown)} on {spec.name}: the editable "
            f"properties are {', '.join(sorted(names))}",
            errors=[
                {"feature": code, "field": k, "reason": "not editable"} for k in unknown
            ],
        )
    new_code = _new_code(spec, code, properties.get(spec.key, code))
    if new_code != code:  # undone with the rest if the edit is refused below
        _rename(session, spec, township, code, new_code)
    geom = None
    if geometry_given and geometry is not None:
        try:
            geom = shape(geometry)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInput(
                f"geometry is not valid GeoJSON: {exc}",
                errors=[
                    {"feature": code, "field": "geometry", "reason": "not GeoJSON"}
                ],
            ) from None
    frame = gpd.GeoDataFrame(
        {**{k: [v] for k, v in properties.items()}, spec.key: [new_code]},
        geometry=[geom],
    )
    read = ReadResult(frame, CRS.from_epsg(4326), has_geometry=geometry_given)
    import_features(session, township=township, spec=spec, read=read)
    return get_feature(session, township=township, layer=spec.name, code=new_code)


def _new_code(spec: LayerSpec, code: str, value: Any) -> str:
    """The feature's code after the edit: text, not blank, within the key's length."""
    key = next(f for f in spec.fields if f.name == spec.key)
    new = value.strip() if isinstance(value, str) else None
    if not new or (key.max_len is not None and len(new) > key.max_len):
        raise InvalidInput(
            f"{spec.key} must be text of 1 to {key.max_len} characters, got {value!r}",
            errors=[{"feature": code, "field": spec.key, "reason": "not a code"}],
        )
    return new


def _rename(
    session: Session, spec: LayerSpec, township: str, code: str, new: str
) -> None:
    """Give the feature ``code`` the code ``new`` (409 if another feature has it).

    Under the layer's import lock, so an import in flight that adds ``new`` is
    waited for and then seen (a 409, not a unique violation).
    """
    session.execute(staging.IMPORT_LOCK, staging.import_lock(spec, township))
    params = {"t": township, "code": code, "new": new}
    taken = session.execute(
        text(
            f"SELECT 1 FROM {spec.table} WHERE township_code = :t AND {spec.key} = :new"
        ),
        params,
    ).first()
    if taken is not None:
        raise Conflict(
            f"{spec.name} {new!r} already exists in township {township}",
            errors=[{"feature": code, "field": spec.key, "reason": "code taken"}],
        )
    stamp = ", updated_at = now()" if spec.has_updated_at else ""
    session.execute(
        text(
            f"UPDATE {spec.table} SET {spec.key} = :new{stamp} "
            f"WHERE township_code = :t AND {spec.key} = :code"
        ),
        params,
    )


def delete_feature(session: Session, *, township: str, layer: str, code: str) -> None:
    """Delete one feature; refused (409) while other rows still point at it."""
    spec = get_layer(layer)
    params = {"t": township, "code": code}
    with atomic(session):
        fid = session.execute(
            text(
                f"SELECT id FROM {spec.table} "
                f"WHERE township_code = :t AND {spec.key} = :code"
            ),
            params,
        ).scalar()
        if fid is None:
            raise NotFound(
                f"{spec.name} {code!r} does not exist in township {township}"
            )
        refs = references(spec.table)
        if refs:
            counts = session.execute(
                text(
                    "SELECT "
                    + ", ".join(
                        f"(SELECT count(*) FROM {t} "
                        f"WHERE township_code = :t AND {c} = :id)"
                        for t, c, _ in refs
                    )
                ),
                {"t": township, "id": fid},
            ).one()
            held = [
                f"{n} {noun}" for (_, _, noun), n in zip(refs, counts, strict=True) if n
            ]
            if held:
                raise Conflict(
                    f"{spec.name} {code!r} is still referenced by {', '.join(held)}; "
                    "reassign or delete those first",
                    errors=[
                        {"feature": code, "field": spec.key, "reason": h} for h in held
                    ],
                )
        session.execute(
            text(f"DELETE FROM {spec.table} WHERE township_code = :t AND id = :id"),
            {"t": township, "id": fid},
        )
