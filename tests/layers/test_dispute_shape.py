"""Slivers told by shape, not by parcel size; dry runs; closing reasons; zero area."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.settings import DisputeSettings
from layers.disputes.detect import detect_disputes
from tests.factories import TOWNSHIP, make_households, make_township
from tests.layers.factories_disputes import (
    geodesic_area,
    make_parcels,
    move_parcel,
    rect,
)

DEFAULTS = DisputeSettings()
# Metres to degrees at 37.1° N (1° lon ≈ 88.9 km, 1° lat ≈ 111.0 km).
MX, MY = 1 / 88_900, 1 / 111_000
X0, Y0 = 102.50, 37.10


def box_m(x0: float, y0: float, x1: float, y1: float):  # type: ignore[no-untyped-def]
    """A rectangle given in metres east/north of (X0, Y0)."""
    return rect(X0 + x0 * MX, Y0 + y0 * MY, X0 + x1 * MX, Y0 + y1 * MY)


def holders(session: Session) -> list[int]:
    make_township(session)
    return make_households(session, [(X0, Y0), (X0 + 0.01, Y0), (X0, Y0 + 0.01)])


def kinds(session: Session) -> dict[str, int]:
    rows = session.execute(
        text("SELECT kind, count(*) FROM parcel_findings WHERE township_code = :t "
             "GROUP BY kind"), {"t": TOWNSHIP},
    ).all()  # fmt: skip
    return dict(rows)


def test_wide_overlaps_between_large_parcels_are_disputes(session: Session) -> None:
    """200-mu parcels (365 m square): 750 m² and 3 000 m² corners are disputes."""
    h1, h2, h3 = holders(session)
    side = 365.0  # 133 225 m², 200 mu
    ids = make_parcels(session, [
        ("A", box_m(0, 0, side, side), h1, 200),
        ("B", box_m(side - 25, side - 30, 2 * side, 2 * side), h2, 200),  # 25 x 30 m
        ("C", box_m(-side, side - 50, 60, 2 * side), h3, 200),  # 60 x 50 m
    ])  # fmt: skip
    result = detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    assert (result.new, result.detected, result.slivers) == (2, 2, 0)
    areas = sorted(
        session.execute(text("SELECT overlap_area_m2 FROM disputes")).scalars()
    )
    assert areas == pytest.approx([750, 3000], rel=0.01)
    # The old share rule (on only when asked) hid the 750 m² one: under 1 % of A.
    share = DisputeSettings(min_share=0.01)
    old = detect_disputes(session, township=TOWNSHIP, thresholds=share, dry_run=True)
    assert (old.detected, old.slivers) == (1, 1)
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("label", "length", "depth"),
    [("3000 mu", 2000.0, 1000.0), ("200 mu", 365.0, 365.0), ("9 mu", 300.0, 20.0)],
)
def test_thin_digitising_slivers_are_never_disputes(
    session: Session, label: str, length: float, depth: float
) -> None:
    """A ~1 m wide overlap along a shared border is a sliver, whatever the sizes."""
    h1, h2, _ = holders(session)
    make_parcels(session, [
        ("N", box_m(0, 0, length, depth), h1, None),
        ("S", box_m(0, -depth, length, 1.0), h2, None),  # 1 m over the border
    ])  # fmt: skip
    result = detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    assert (result.detected, result.slivers) == (0, 1), label
    detail = session.execute(
        text("SELECT area_m2, detail FROM parcel_findings WHERE kind = 'sliver'")
    ).one()
    assert detail.area_m2 == pytest.approx(length, rel=0.01)  # 1 m x length
    assert detail.detail.startswith("mean width 1.")


def test_zero_area_overlaps_are_not_findings(session: Session) -> None:
    """Repaired neighbours share a border up to rounding: nothing to report."""
    h1, h2, _ = holders(session)
    make_parcels(session, [
        ("L", box_m(0, 0, 300, 300), h1, None),
        ("R", rect(X0 + 300 * MX - 1e-10, Y0, X0 + 600 * MX, Y0 + 300 * MY), h2,
         None),
    ])  # fmt: skip
    overlap = geodesic_area(
        rect(X0 + 300 * MX - 1e-10, Y0, X0 + 300 * MX, Y0 + 300 * MY)
    )
    assert 0 < overlap < 0.01
    result = detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    assert (result.detected, result.slivers, result.self_overlaps) == (0, 0, 0)
    assert kinds(session) == {}


def snapshot(session: Session) -> tuple:  # type: ignore[type-arg]
    """Everything detection may write, as comparable rows."""
    return tuple(
        tuple(session.execute(text(q)).all())
        for q in (
            "SELECT id, parcel_a_id, parcel_b_id, status, overlap_area_m2, "
            "closed_reason, last_detected_at FROM disputes ORDER BY id",
            "SELECT id, dispute_id, from_status, to_status, note FROM dispute_events "
            "ORDER BY id",
            "SELECT id FROM dispute_runs ORDER BY id",
            "SELECT id, kind, parcel_id, area_m2 FROM parcel_findings ORDER BY id",
        )
    )


def test_dry_run_reports_and_writes_nothing(session: Session) -> None:
    h1, h2, _ = holders(session)
    ids = make_parcels(session, [
        ("A", box_m(0, 0, 365, 365), h1, 200),
        ("B", box_m(340, 335, 730, 730), h2, 200),
    ])  # fmt: skip
    before = snapshot(session)
    trial = detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS,
                            dry_run=True)  # fmt: skip
    assert (trial.dry_run, trial.run_id) == (True, None)
    assert (trial.new, trial.detected) == (1, 1)
    assert snapshot(session) == before  # nothing written
    real = detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    assert (real.new, real.detected, real.dry_run) == (1, 1, False)
    stored = snapshot(session)
    # Trying a stricter threshold: it would close the dispute, and does not.
    strict = DisputeSettings(min_area_m2=1_000)
    would = detect_disputes(session, township=TOWNSHIP, thresholds=strict,
                            dry_run=True)  # fmt: skip
    assert (would.closed, would.new, would.slivers) == (1, 0, 1)
    assert snapshot(session) == stored
    # Moving the parcels apart would close it too; a dry run reopens nothing.
    move_parcel(session, ids[1], box_m(400, 400, 730, 730))
    gone = detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS,
                           dry_run=True)  # fmt: skip
    assert (gone.closed, gone.detected) == (1, 0)
    status = session.execute(text("SELECT status FROM disputes")).scalar_one()
    assert status == "open"


def test_closing_reasons_say_what_happened(session: Session) -> None:
    h1, h2, _ = holders(session)
    ids = make_parcels(session, [
        ("A", box_m(0, 0, 365, 365), h1, 200),
        ("B", box_m(340, 335, 730, 730), h2, 200),  # 25 x 30 m = 750 m²
    ])  # fmt: skip
    detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)

    def reason() -> tuple[str, str | None]:
        row = session.execute(text("SELECT status, closed_reason FROM disputes")).one()
        return row.status, row.closed_reason

    # Thresholds up: the overlap is the same, so the reason says thresholds.
    detect_disputes(session, township=TOWNSHIP,
                    thresholds=DisputeSettings(min_area_m2=1_000))  # fmt: skip
    status, why = reason()
    assert status == "closed" and why is not None
    assert why.startswith("the thresholds changed: the overlap is unchanged (7")
    assert "shrank" not in why
    # And back: the same record reopens.
    back = detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    assert back.reopened == 1 and reason() == ("open", None)
    # The parcels edited: the overlap shrinks to a 1 m strip, a sliver.
    move_parcel(session, ids[1], box_m(364, 335, 730, 730))
    detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    status, why = reason()
    assert status == "closed" and why is not None
    assert why.startswith("the parcels were edited: the overlap shrank from 7")
    assert "mean width 0.9" in why or "mean width 1.0" in why
