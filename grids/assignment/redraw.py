"""Preview (and save) new outlines for grids: whose grid or cadre would change.

The preview runs the assignment plan on the township with the given outlines
swapped in and writes nothing; saving computes the same plan under the
township's assignment lock, stores the outlines and writes exactly that plan.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

import shapely
from shapely.geometry import MultiPolygon, shape
from shapely.geometry.base import BaseGeometry

from gis_service.core.db import atomic
from gis_service.core.errors import InvalidInput, NotFound
from grids.assignment.planning import Plan, household_codes, plan_assignment
from grids.assignment.schemas import CadreChange, HouseholdChange, RedrawIn, RedrawOut
from grids.assignment.service import write_plan
from grids.assignment.store import LOCK
from grids.tree.locate import read_grids

logger = logging.getLogger(__name__)

_SAVE = text(
    """
    UPDATE grids g SET geom = ST_Multi(ST_GeomFromText(r.wkt, 4326)), updated_at = now()
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(code text, wkt text)
    WHERE g.township_code = :t AND g.code = r.code
    """
)


def _parse(redraw: RedrawIn, known: set[str]) -> dict[str, BaseGeometry]:
    """GeoJSON outlines by grid code; every problem named at once."""
    errors: list[dict[str, Any]] = []
    out: dict[str, BaseGeometry] = {}
    for item in redraw.grids:
        if item.code not in known:
            raise NotFound(f"grid {item.code!r} does not exist in this township")
        try:
            geom = shape(item.geometry)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            errors.append(
                {"feature": item.code, "field": "geometry", "reason": str(exc)}
            )
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            reason = f"expected Polygon or MultiPolygon, got {geom.geom_type}"
            errors.append({"feature": item.code, "field": "geometry", "reason": reason})
        elif not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            errors.append({"feature": item.code, "field": "geometry", "reason": reason})
        else:
            out[item.code] = (
                MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom
            )
    if errors:
        raise InvalidInput(f"{len(errors)} invalid grid outline(s)", errors=errors)
    return out


def _changes(
    session: Session, plan: Plan
) -> tuple[list[HouseholdChange], list[CadreChange]]:
    """Households whose grid or cadre changes; cadres whose set of households does."""
    grid_code = dict(zip(plan.grid_ids.tolist(), plan.grid_codes.tolist(), strict=True))
    cadre_code = dict(zip(plan.cadres["id"], plan.cadres["code"], strict=True))
    changed = plan.changed()
    code = household_codes(session, township=plan.township, ids=changed["id"].tolist())
    households = [
        HouseholdChange(
            household_id=int(r.id),
            code=code[int(r.id)],
            old_grid=grid_code.get(r.grid_id),
            new_grid=grid_code.get(r.new_grid_id),
            old_cadre=cadre_code.get(r.cadre_id),
            new_cadre=cadre_code.get(r.new_cadre_id),
        )
        for r in changed.itertuples()
    ]
    h = plan.households
    before = h.loc[h.cadre_id >= 0, "cadre_id"].value_counts()
    after = h.loc[h.new_cadre_id >= 0, "new_cadre_id"].value_counts()
    moved = changed.loc[changed.cadre_id != changed.new_cadre_id]
    losses = moved.loc[moved.cadre_id >= 0, "cadre_id"].value_counts()
    gains = moved.loc[moved.new_cadre_id >= 0, "new_cadre_id"].value_counts()
    touched = sorted(set(losses.index) | set(gains.index))
    cadres = [
        CadreChange(
            cadre_id=int(c),
            code=cadre_code[c],
            gains=int(gains.get(c, 0)),
            losses=int(losses.get(c, 0)),
            load_before=int(before.get(c, 0)),
            load_after=int(after.get(c, 0)),
        )
        for c in touched
    ]
    return households, cadres


def redraw_grids(
    session: Session, *, township: str, redraw: RedrawIn, save: bool
) -> RedrawOut:
    """The assignment changes new outlines cause; with ``save`` store and apply them."""
    with atomic(session):
        if save:
            session.execute(LOCK, {"t": township})
        grids = read_grids(session, township=township)
        outlines = _parse(redraw, set(grids["code"]))
        swapped = grids.copy()
        codes = swapped["code"].to_numpy()
        for code, geom in outlines.items():
            swapped.loc[codes == code, "geom"] = pd.Series([geom], dtype=object).values
        plan = plan_assignment(session, township=township, grids=swapped)
        households, cadres = _changes(session, plan)
        if save:
            rows = [{"code": c, "wkt": g.wkt} for c, g in outlines.items()]
            payload = json.dumps(rows, ensure_ascii=False)
            session.execute(_SAVE, {"t": township, "rows": payload})
            write_plan(session, plan)
    logger.info(
        "redraw %s of %s: %d households change (saved=%s)",
        township,
        list(outlines),
        len(households),
        save,
    )
    return RedrawOut(
        township=township,
        saved=save,
        grids=list(outlines),
        households=households,
        cadres=cadres,
    )
