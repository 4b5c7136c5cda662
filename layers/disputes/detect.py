"""Pasture-boundary dispute detection: overlaps found in PostGIS, kept as records.

One GIST-indexed self-join (``disputes.sql``: ``create_pairs``) finds every pair
of parcels whose interiors intersect and classifies it: a **dispute** (different
holders, an overlap both wide and large enough, whatever the parcels' sizes), a
**sliver** (a digitising error told by its shape: thin, mean width 2·A/P under
``min_width_m``, or tiny, under ``min_area_m2``: counted, not raised) or a
**self-overlap** (same holder: data quality); overlaps of (next to) zero area are
nothing. Areas and perimeters are geodesic (``::geography``), in m² and mu. The
records are reconciled set-based so a pair keeps its dispute across runs: new pairs
open, changed overlaps update, vanished ones close with a reason saying what
happened, returning ones reopen. A dry run does all of it and rolls it back.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.auth.scope import unscoped
from gis_service.core.db import atomic
from gis_service.core.settings import DisputeSettings
from gis_service.core.sql_files import load_queries
from gis_service.core.townships import require_township
from gis_service.core.units import MU_M2
from layers.disputes.schemas import DetectionOut
from layers.disputes.workflow import OPEN_DISPUTE_STATUSES

logger = logging.getLogger(__name__)

SQL = load_queries(Path(__file__).with_name("disputes.sql"))
DETECTION_ACTOR = "detection"
ZERO_M2 = 0.01  # overlaps under this are rounding, not findings (repaired parcels)


def run_out(row: Any) -> DetectionOut:
    """A stored ``dispute_runs`` row as the detection result."""
    return DetectionOut(
        run_id=row.id,
        township=row.township_code,
        parcels=row.parcels,
        min_area_m2=row.min_area_m2,
        min_width_m=row.min_width_m,
        min_share=row.min_share,
        area_tolerance=row.area_tolerance,
        new=row.disputes_new,
        updated=row.disputes_updated,
        reopened=row.disputes_reopened,
        closed=row.disputes_closed,
        detected=row.disputes_seen,
        slivers=row.slivers,
        self_overlaps=row.self_overlaps,
        area_mismatches=row.area_mismatches,
        invalid_parcels=row.invalid_parcels,
        duration_ms=row.duration_ms,
    )


def _find_pairs(
    session: Session, *, township: str, thresholds: DisputeSettings
) -> list[int]:
    """Stage this run's overlapping pairs in ``_dispute_pairs``; return invalid ids."""
    session.execute(SQL["drop_checks"])
    session.execute(SQL["check_parcels"], {"township": township})
    session.execute(SQL["measure_invalid"], {"township": township})
    invalid = [int(i) for i in session.execute(SQL["invalid_parcels"]).scalars()]
    session.execute(SQL["drop_pairs"])
    # A probe is one GIST index scan per parcel; ANDed with any btree range as a
    # bitmap it reads a whole township per parcel (disputes.sql, migration 0150).
    scans = session.execute(SQL["scans"]).one()
    session.execute(SQL["set_scans"], {"bitmap": "off", "seq": "off"})
    session.execute(
        SQL["create_pairs"],
        {
            "township": township,
            "invalid": invalid,
            "min_area_m2": thresholds.min_area_m2,
            "min_width_m": thresholds.min_width_m,
            "min_share": thresholds.min_share,
            "zero_m2": ZERO_M2,
        },
    )
    session.execute(SQL["set_scans"], {"bitmap": scans.bitmap, "seq": scans.seq})
    session.execute(SQL["analyze_pairs"])
    return invalid


def _reconcile(session: Session, params: dict[str, Any]) -> dict[str, int]:
    """Bring the dispute records in line with ``_dispute_pairs`` (order matters)."""
    counts = {
        "new": session.execute(SQL["insert_new"], params).scalar_one(),
        "reopened": session.execute(SQL["reopen"], params).scalar_one(),
        "updated": session.execute(SQL["update_changed"], params).scalar_one(),
    }
    session.execute(SQL["touch_seen"], params)
    counts["closed"] = session.execute(
        SQL["close_gone"], {**params, "open_statuses": list(OPEN_DISPUTE_STATUSES)}
    ).scalar_one()
    return counts


def detect_disputes(
    session: Session,
    *,
    township: str,
    thresholds: DisputeSettings,
    actor: str = DETECTION_ACTOR,
    dry_run: bool = False,
) -> DetectionOut:
    """Run detection over a township's parcels and reconcile its dispute records.

    ``dry_run``: the same run inside a transaction (or savepoint) rolled back, so a
    leader can try thresholds and see what would open, update, close and reopen
    without touching a review record.

    Admin-only, over the whole township: it runs as the tables' owner, so its
    temporary tables always have the same owner on a pooled connection.
    """
    require_township(session, township=township)
    if not dry_run:
        return _detect(session, township, thresholds, actor)
    with atomic(session):  # the run below nests in it as a savepoint...
        trial = session.begin_nested()
        try:
            out = _detect(session, township, thresholds, actor)
        finally:
            trial.rollback()  # ... which is rolled back: nothing is kept
    logger.info("dispute detection in %s was a dry run: nothing stored", township)
    return out.model_copy(update={"run_id": None, "dry_run": True})


def _detect(
    session: Session, township: str, thresholds: DisputeSettings, actor: str
) -> DetectionOut:
    """One detection run, stored (the caller may roll it back)."""
    started = time.perf_counter()
    with atomic(session), unscoped(session):
        # ST_Relate's cost estimate is huge, so PostgreSQL would JIT-compile the
        # plan (~0.7 s at 100 000 parcels) for no gain.
        session.execute(text("SET LOCAL jit = off"))
        invalid = _find_pairs(session, township=township, thresholds=thresholds)
        params: dict[str, Any] = {
            "township": township,
            "actor": actor,
            "invalid": invalid,
            "min_area_m2": thresholds.min_area_m2,
            "min_width_m": thresholds.min_width_m,
            "min_share": thresholds.min_share,
            "area_tolerance": thresholds.area_tolerance,
            "mu_m2": MU_M2,
        }
        run = session.execute(SQL["start_run"], params).one()
        params["run_id"] = run.id
        changes = _reconcile(session, params)
        session.execute(SQL["clear_findings"], params)
        pairs = session.execute(SQL["pair_findings"], params).one()
        counts = {
            "new": changes["new"],
            "updated": changes["updated"],
            "reopened": changes["reopened"],
            "closed": changes["closed"],
            "seen": pairs.seen,
            "slivers": pairs.slivers,
            "self_overlaps": pairs.self_overlaps,
            "area_mismatches": session.execute(
                SQL["area_findings"], params
            ).scalar_one(),
            "invalid_parcels": session.execute(
                SQL["invalid_findings"], params
            ).scalar_one(),
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        row = session.execute(SQL["finish_run"], {**params, **counts}).one()
    logger.info("dispute detection in %s: %s", township, counts)
    return run_out(row)
