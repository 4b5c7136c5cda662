"""Import a layer file into a township: all or nothing, idempotent, set-based.

read (pyogrio/pandas) -> validate and type, vectorised -> COPY into a staging
table -> SQL checks (``ST_IsValidReason``, references) and optional repair ->
one UPDATE of the changed existing rows and one INSERT of the new ones.
Any rejected feature rolls everything back and comes back as a 422 listing each
feature, field and reason. A dry run does the whole import, reports the counts
it would produce, and rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from gis_service.core.auth.scope import unscoped
from gis_service.core.bulk import copy_frame, paused_gc
from gis_service.core.db import atomic
from gis_service.core.errors import InvalidInput
from gis_service.core.settings import LimitSettings, get_settings
from gis_service.core.townships import require_township
from grids.tree.hierarchy import hierarchy_warnings
from layers.io import first_load, staging
from layers.io.crs_sanity import township_extent
from layers.io.geometry_checks import Place
from layers.io.hooks import (
    grids_or_cadres_changed,
    households_loaded,
    households_moved,
)
from layers.io.reading import ReadResult, read_features
from layers.io.specs import LayerSpec, get_layer
from layers.io.validation import Prepared, prepare

logger = logging.getLogger(__name__)

MAX_REPORTED_ERRORS = 1000
_REASSIGNED = ("households", "grids", "cadres")


def ensure_township(session: Session, township: str) -> None:
    """404 unless the township exists (the API checks it in TownshipDep)."""
    require_township(session, township=township)


def import_file(
    session: Session,
    *,
    township: str,
    layer: str,
    path: Path,
    filename: str | None = None,
    crs: str | None = None,
    repair: bool = False,
    dry_run: bool = False,
    encoding: str | None = None,
    source_layer: str | None = None,
    field_map: Mapping[str, str] | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    limits: LimitSettings | None = None,
) -> dict[str, Any]:
    """Import one file into ``layer`` of ``township``; return the import report.

    ``force`` imports data that lies farther from the township's grids than
    ``GRIDGIS_IMPORTS__MAX_DISTANCE_KM`` (checked, with the likely cause, otherwise).
    """
    spec = get_layer(layer)
    ensure_township(session, township)
    with paused_gc():
        read = read_features(
            path,
            filename=filename,
            layer=source_layer,
            encoding=encoding,
            columns=field_map,
            limits=limits,
        )
        if progress is not None:
            progress(f"读取 {len(read.frame)} 条")
        report = import_features(
            session,
            township=township,
            spec=spec,
            read=read,
            crs=crs,
            repair=repair,
            dry_run=dry_run,
            field_map=field_map,
            force=force,
            progress=progress,
        )
    report["source_layer"] = read.source_layer
    logger.info("import %s into %s/%s: %s", filename, township, spec.name, report)
    return report


def import_features(
    session: Session,
    *,
    township: str,
    spec: LayerSpec,
    read: ReadResult,
    crs: str | None = None,
    repair: bool = False,
    dry_run: bool = False,
    field_map: Mapping[str, str] | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Validate and upsert already-read features (shared by import and PATCH).

    ``progress`` hears each stage as it ends (the CLI prints them).
    """
    settings = get_settings().imports
    try:
        extent = township_extent(session, township) if read.has_geometry else None
        place = None if extent is None else Place(
            extent, settings.max_distance_km, force
        )  # fmt: skip
        prepared = prepare(
            read,
            spec,
            crs=crs,
            field_map=field_map,
            id_numbers=settings.id_numbers,
            place=place,
        )
    except BaseException:
        session.rollback()
        raise
    if read.has_geometry:
        prepared.present.append(staging.GEOMETRY)
    if progress is not None:
        progress(f"校验 {len(prepared.rows)} 条, {len(prepared.errors)} 个问题")
    scope = _rolled_back(session) if dry_run else atomic(session)
    with scope:
        counts, repairs = _write(session, township, spec, prepared, repair, dry_run)
        if progress is not None:
            progress(
                f"写入{'(试运行)' if dry_run else ''}: 新增 {counts['inserted']}, "
                f"更新 {counts['updated']}"
                + (", 已重新分配网格员" if spec.name in _REASSIGNED else "")
            )
        if spec.name == "grids":
            prepared.warnings += hierarchy_warnings(session, township=township)
    return {
        "layer": spec.name,
        "township": township,
        "features": len(prepared.rows),
        **counts,
        "rejected": 0,
        "dry_run": dry_run,
        "written": not dry_run,
        "crs": prepared.crs,
        "warnings": prepared.warnings,
        "repairs": repairs,
    }


@contextmanager
def _rolled_back(session: Session) -> Iterator[Session]:
    """Run everything, then undo it: a dry run reports exact counts, writes nothing."""
    try:
        yield session
    finally:
        session.rollback()


def _write(
    session: Session,
    township: str,
    spec: LayerSpec,
    prepared: Prepared,
    repair: bool,
    dry_run: bool,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Stage, check, repair and upsert inside the caller's transaction."""
    present = frozenset(prepared.present)
    params = {"t": township}
    session.execute(staging.IMPORT_LOCK, staging.import_lock(spec, township))
    if not dry_run and first_load.applies(
        session, township=township, spec=spec, present=present
    ):
        if prepared.errors:
            raise _rejected(list(prepared.errors), prepared)
        with unscoped(session):  # builds and attaches a partition: owner's DDL
            n = first_load.load(
                session, township=township, spec=spec, prepared=prepared
            )
        households_loaded(session, township=township)
        return {"inserted": n, "updated": 0, "unchanged": 0}, []
    for statement in staging.stage_ddl(spec):
        session.execute(statement)
    arrays = [f.name for f in spec.fields if f.kind == "tags" and f.name in present]
    copy_frame(
        session,
        staging.STAGE,
        prepared.rows,
        geometry_columns=["geom"],
        array_columns=arrays,
        column_srid=True,
    )
    repairs = _repair(session, spec) if repair else []
    errors = list(prepared.errors)
    for check in staging.checks(spec, present):
        errors += [
            {"feature": r[0], "code": r[1], "field": r[2], "reason": r[3]}
            if r[0] is not None
            else {"feature": None, "code": None, "field": r[2], "reason": r[3],
                  "features": r[4]}
            for r in session.execute(check, params)
        ]  # fmt: skip
    if errors:
        raise _rejected(errors, prepared)
    moved: set[int] = set()
    if spec.name == "households" and staging.GEOMETRY in present:
        moved = set(session.execute(staging.MOVED_HOUSEHOLDS, params).scalars())
    updated = set(session.execute(staging.update(spec, present), params).scalar_one())
    inserted = set(session.execute(staging.insert(spec, present), params).scalar_one())
    if spec.name == "grids":
        updated |= set(session.execute(staging.GRID_PARENTS, params).scalars())
        updated -= inserted
        _rebuild_tree(session, township)
    if spec.name == "households" and not dry_run:
        households_moved(session, township=township, ids=sorted(inserted | moved))
    if spec.name in ("grids", "cadres") and not dry_run and (inserted or updated):
        grids_or_cadres_changed(session, township=township)
    counts = {
        "inserted": len(inserted),
        "updated": len(updated),
        "unchanged": len(prepared.rows) - len(inserted) - len(updated),
    }
    return counts, repairs


def _repair(session: Session, spec: LayerSpec) -> list[dict[str, Any]]:
    """ST_MakeValid invalid geometries and say, per feature, what changed."""
    out = []
    for r in session.execute(staging.repair(spec)).mappings():
        now = (
            "nothing valid was left"
            if r["empty"]
            else f"valid {spec.geometry_kind} with {r['parts']} part(s), "
            f"{r['points_after']} points (was {r['points']}), "
            f"area {r['area_m2']:.1f} m²"
        )
        out.append(
            {"feature": r["_idx"], "code": r["code"], "was": r["reason"], "now": now}
        )
    return sorted(out, key=lambda e: e["feature"])


def _rebuild_tree(session: Session, township: str) -> None:
    """Recompute depth and path; a parent cycle rejects the import."""
    stranded = list(session.execute(staging.GRID_TREE, {"t": township}).scalars())
    if stranded:
        raise InvalidInput(
            f"the grid tree has a parent cycle through {', '.join(stranded)}; "
            "nothing was written",
            errors=[
                {
                    "feature": None,
                    "code": c,
                    "field": "parent_code",
                    "reason": "parent chain forms a cycle",
                }
                for c in stranded
            ],
            written=False,
        )


def _rejected(errors: list[dict[str, Any]], prepared: Prepared) -> InvalidInput:
    """The 422 listing every rejected feature (capped), nothing written.

    Tables also say each problem's ``row`` as the spreadsheet shows it (the
    header is row 1); a problem of the whole file has ``feature`` None.
    """
    features = len(prepared.rows)
    errors.sort(key=lambda e: (e["feature"] is not None, e["feature"] or 0, e["field"]))
    whole_file = [e for e in errors if e["feature"] is None]
    if whole_file:
        rejected = int(max(e.get("features", features) for e in whole_file))
    else:
        rejected = int(pd.Series([e["feature"] for e in errors]).nunique())
    if prepared.first_row is not None:
        for e in errors:
            if e["feature"] is not None:
                e["row"] = int(e["feature"]) + prepared.first_row
    return InvalidInput(
        f"{rejected} of {features} features rejected ({len(errors)} problems); "
        "nothing was written",
        errors=errors[:MAX_REPORTED_ERRORS],
        rejected=rejected,
        features=features,
        errors_truncated=len(errors) > MAX_REPORTED_ERRORS,
        written=False,
        warnings=prepared.warnings,
    )
