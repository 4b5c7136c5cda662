"""Household -> grid -> cadre for a township: plan in memory, write the changes.

The plan (``grids.assignment.planning``) is stored in ``household_assignments``
(``grids.assignment.store``): a full run that changes many rows rebuilds the
township's partition and swaps it in; a partial run, or one that changes few rows,
upserts only the changed rows. Imports, edits, the API, the CLI and the demo loader
all come through ``reassign`` / ``assign_households``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.bulk import paused_gc
from gis_service.core.db import atomic
from gis_service.core.errors import NotFound
from gis_service.core.townships import require_township
from grids.assignment.cadres import REASON_OUTSIDE
from grids.assignment.planning import Plan, plan_assignment
from grids.assignment.reports import unassigned_households
from grids.assignment.schemas import AssignmentSummary, OutsideHousehold
from grids.assignment.store import (
    LOCK,
    partition_exists,
    replace_partition,
    upsert_assignments,
)
from grids.models import ASSIGNMENT_REASONS

logger = logging.getLogger(__name__)

_NOW_US = text("SELECT (extract(epoch FROM now()) * 1000000)::int8")
_TOTAL = text("SELECT count(*) FROM households WHERE township_code = :t")
# A full run rebuilds the partition when more than this share of rows changes:
# a swap costs ~2.5 us per row of the township, an upsert ~10 us per changed row.
SWAP_SHARE = 0.2


@paused_gc()
def write_plan(session: Session, plan: Plan) -> int:
    """Store the plan; return how many households' stored assignment changed.

    A full run that changes more than ``SWAP_SHARE`` of the rows (or the first
    run) rebuilds the partition; anything else upserts only the changed rows.
    """
    h = plan.households
    reason = plan.new_reason_codes()
    changed = (
        (h["grid_id"].to_numpy() != h["new_grid_id"].to_numpy())
        | (h["cadre_id"].to_numpy() != h["new_cadre_id"].to_numpy())
        | (h["reason"].to_numpy() != reason)
    )
    n_changed = int(changed.sum())
    swap = plan.full and (
        n_changed > SWAP_SHARE * len(h)
        or not partition_exists(session, township=plan.township)
    )
    if swap:
        replace_partition(
            session, township=plan.township, rows=_rows(session, h, reason, changed)
        )
        return n_changed
    if n_changed == 0:
        return 0
    rows = pd.DataFrame(
        {
            "household_id": h["id"].to_numpy()[changed],
            "grid_id": h["new_grid_id"].to_numpy()[changed],
            "cadre_id": h["new_cadre_id"].to_numpy()[changed],
            "reason": plan.cadre_plan.reason[changed],
        }
    )
    return upsert_assignments(session, township=plan.township, rows=rows)


def _rows(
    session: Session,
    h: pd.DataFrame,
    reason: npt.NDArray[np.int64],
    changed: npt.NDArray[np.bool_],
) -> pd.DataFrame:
    """Every household's row for a rebuilt partition; unchanged rows keep their time."""
    now_us = int(session.execute(_NOW_US).scalar_one())
    kept = h["assigned_us"].to_numpy()
    names = np.array((None, *ASSIGNMENT_REASONS), dtype=object)
    grid = h["new_grid_id"].to_numpy()
    cadre = h["new_cadre_id"].to_numpy()
    return pd.DataFrame(
        {
            "household_id": h["id"].to_numpy(),
            "grid_id": pd.arrays.IntegerArray(np.maximum(grid, 0), grid < 0),
            "cadre_id": pd.arrays.IntegerArray(np.maximum(cadre, 0), cadre < 0),
            "pinned": h["pinned"].to_numpy() == 1,
            "reason": names[reason],
            "assigned_at": np.where(changed | (kept < 0), now_us, kept),
        }
    )


def summarise(
    session: Session, plan: Plan, written: int, seconds: float
) -> AssignmentSummary:
    """Counts of what the plan changed, by reason, and both cadre scores."""
    h = plan.households
    had, has = h["cadre_id"] >= 0, h["new_cadre_id"] >= 0
    pinned = (h["pinned"] == 1) & had
    reasons = pd.Series(plan.cadre_plan.reason).dropna().value_counts()
    outside: list[OutsideHousehold] = []
    if reasons.get(REASON_OUTSIDE, 0):
        ids = h.loc[h["new_grid_id"] < 0, "id"].tolist()  # indexed look-up
        rows = unassigned_households(
            session, township=plan.township, reason=REASON_OUTSIDE, household_ids=ids
        )
        outside = [
            OutsideHousehold(
                household_id=r["id"],
                code=r["code"],
                nearest_grid=r["nearest_grid"],
                distance_m=r["distance_m"],
            )
            for r in rows
        ]
    return AssignmentSummary(
        township=plan.township,
        households=len(h),
        in_grid=int((h["new_grid_id"] >= 0).sum()),
        outside_every_grid=int((h["new_grid_id"] < 0).sum()),
        grid_changed=int((h["grid_id"] != h["new_grid_id"]).sum()),
        cadre_assigned=int(has.sum()),
        newly_assigned=int((~had & has).sum()),
        churn=int((had & (h["cadre_id"] != h["new_cadre_id"])).sum()),
        pinned_kept=int(pinned.sum()),
        unassigned={str(k): int(v) for k, v in reasons.items()},
        rows_written=written,
        optimiser=plan.cadre_plan.optimiser,
        greedy_baseline=plan.cadre_plan.greedy,
        outside=outside,
        seconds=round(seconds, 3),
    )


def _most_of_township(session: Session, township: str, ids: Sequence[int]) -> bool:
    """``ids`` are more than SWAP_SHARE of the township's households."""
    total = int(session.execute(_TOTAL, {"t": township}).scalar_one())
    return len({int(i) for i in ids}) > SWAP_SHARE * total


def _unknown(ids: Sequence[int], plan: Plan) -> NotFound | None:
    """The 404 for ids a full run did not find among the township's households."""
    missing = np.setdiff1d(np.asarray(ids, np.int64), plan.households["id"])
    if not len(missing):
        return None
    return NotFound(
        f"{len(missing)} household(s) not in {plan.township}: {missing[:5].tolist()}",
        errors=[
            {"field": "household_ids", "reason": f"unknown id {m}"}
            for m in missing[:20].tolist()
        ],
    )


def reassign(
    session: Session, *, township: str, household_ids: Sequence[int] | None = None
) -> tuple[Plan, int]:
    """Plan and store the assignment of households (all, or these ids).

    Atomic, serialised per township; returns the plan and the rows written.
    Imports and edits call this (they need no summary).
    """
    require_township(session, township=township)
    with atomic(session):
        session.execute(LOCK, {"t": township})
        full = household_ids is None or _most_of_township(
            session, township, household_ids
        )
        # Most of the township at once (a first import): one full run, which
        # rebuilds the partition, is far cheaper than upserting each row.
        plan = plan_assignment(
            session, township=township, household_ids=None if full else household_ids
        )
        if household_ids is not None and full:
            error = _unknown(household_ids, plan)
            if error is not None:
                raise error
        written = write_plan(session, plan)
    return plan, written


def assign_households(
    session: Session, *, township: str, household_ids: Sequence[int] | None = None
) -> AssignmentSummary:
    """Assign households (all, or these ids) to their grid and a cadre; summarise.

    Atomic, serialised per township. The summary lists each household outside
    every grid with its nearest grid.
    """
    started = time.perf_counter()
    plan, written = reassign(session, township=township, household_ids=household_ids)
    summary = summarise(session, plan, written, time.perf_counter() - started)
    logger.info("assign %s: %d rows, churn %d", township, written, summary.churn)
    return summary
