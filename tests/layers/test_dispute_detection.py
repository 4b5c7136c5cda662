"""Dispute detection on hand-built parcels with known overlaps."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

import shapely

from gis_service.core.settings import DisputeSettings
from gis_service.core.units import MU_M2
from layers.disputes.detect import detect_disputes
from tests.factories import OTHER_TOWNSHIP, TOWNSHIP
from tests.layers.factories_disputes import (
    Pasture,
    geodesic_area,
    make_pasture,
    move_parcel,
    rect,
    set_holder,
)

DEFAULTS = DisputeSettings()


@pytest.fixture
def pasture(session: Session) -> Pasture:
    return make_pasture(session)


def disputes(session: Session) -> dict[tuple[int, int], dict]:
    rows = session.execute(
        text(
            "SELECT id, parcel_a_id, parcel_b_id, status, overlap_area_m2,"
            " closed_reason FROM disputes WHERE township_code = :t"
        ),
        {"t": TOWNSHIP},
    ).mappings()
    return {(r["parcel_a_id"], r["parcel_b_id"]): dict(r) for r in rows}


def pair(p: Pasture, a: str, b: str) -> tuple[int, int]:
    x, y = p.parcels[a], p.parcels[b]
    return (min(x, y), max(x, y))


def expected_overlap(p: Pasture, a: str, b: str) -> float:
    ga, gb = (shapely.make_valid(p.shapes[k]) for k in (a, b))
    return geodesic_area(shapely.intersection(ga, gb))


def test_first_run_classifies_every_overlap(session: Session, pasture: Pasture) -> None:
    result = detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)

    assert (result.new, result.updated, result.reopened, result.closed) == (2, 0, 0, 0)
    assert result.detected == 2
    assert (result.slivers, result.self_overlaps) == (1, 1)
    assert result.invalid_parcels == 1  # the bow-tie, compared through ST_MakeValid
    assert result.area_mismatches == 1  # P2: 2000 mu on contract, ~1480 mapped
    assert result.parcels == 6
    found = disputes(session)
    assert set(found) == {pair(pasture, "P1", "P2"), pair(pasture, "P2", "P6")}
    assert {d["status"] for d in found.values()} == {"open"}


@pytest.mark.parametrize(("a", "b"), [("P1", "P2"), ("P2", "P6")])
def test_overlap_area_matches_geodesic_within_half_percent(
    session: Session, pasture: Pasture, a: str, b: str
) -> None:
    detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    stored = disputes(session)[pair(pasture, a, b)]["overlap_area_m2"]
    expected = expected_overlap(pasture, a, b)
    assert stored == pytest.approx(expected, rel=0.005)


def test_strip_overlap_has_the_hand_computed_size(
    session: Session, pasture: Pasture
) -> None:
    detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    strip = geodesic_area(rect(102.508, 37.100, 102.510, 37.110))
    stored = disputes(session)[pair(pasture, "P1", "P2")]["overlap_area_m2"]
    # 0.002° × 0.01° at 37.1°N: about 177.9 m × 1109.6 m
    assert 196_000 < strip < 199_000
    assert stored == pytest.approx(strip, rel=0.005)
    assert stored / MU_M2 == pytest.approx(295.2, abs=1.0)  # in mu


def test_findings_record_sliver_self_overlap_mismatch_and_bowtie(
    session: Session, pasture: Pasture
) -> None:
    detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    rows = (
        session.execute(
            text(
                "SELECT kind, parcel_id, other_parcel_id, area_m2, mapped_mu,"
                " contract_mu, detail FROM parcel_findings"
                " WHERE township_code = :t ORDER BY kind"
            ),
            {"t": TOWNSHIP},
        )
        .mappings()
        .all()
    )
    by_kind = {r["kind"]: r for r in rows}
    assert sorted(by_kind) == [
        "area_mismatch", "invalid_geometry", "self_overlap", "sliver"
    ]  # fmt: skip
    assert len(rows) == 4
    sliver = by_kind["sliver"]
    assert (sliver["parcel_id"], sliver["other_parcel_id"]) == pair(pasture, "P1", "P4")
    assert sliver["area_m2"] == pytest.approx(
        expected_overlap(pasture, "P1", "P4"), rel=0.005
    )
    own = by_kind["self_overlap"]
    assert (own["parcel_id"], own["other_parcel_id"]) == pair(pasture, "P1", "P5")
    assert own["area_m2"] == pytest.approx(
        expected_overlap(pasture, "P1", "P5"), rel=0.005
    )
    mismatch = by_kind["area_mismatch"]
    assert mismatch["parcel_id"] == pasture.parcels["P2"]
    assert mismatch["contract_mu"] == 2000.0
    assert mismatch["mapped_mu"] == pytest.approx(
        geodesic_area(pasture.shapes["P2"]) / MU_M2, rel=0.005
    )
    bowtie = by_kind["invalid_geometry"]
    assert bowtie["parcel_id"] == pasture.parcels["P6"]
    assert "Self-intersection" in bowtie["detail"]


def test_thresholds_are_configurable(session: Session, pasture: Pasture) -> None:
    # The 1 m sliver (mean width ~1.1 m): a lower width threshold makes it a dispute.
    loose = DisputeSettings(min_width_m=0.5, area_tolerance=0.5)
    result = detect_disputes(session, township=TOWNSHIP, thresholds=loose)
    assert (result.new, result.slivers, result.area_mismatches) == (3, 0, 0)
    # Back to the defaults: it is a sliver again and its dispute closes, saying
    # the thresholds changed (the overlap did not shrink).
    again = detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    assert (again.new, again.closed, again.slivers) == (0, 1, 1)
    closed = disputes(session)[pair(pasture, "P1", "P4")]
    assert closed["status"] == "closed"
    assert closed["closed_reason"].startswith("the thresholds changed")
    assert "sliver" in closed["closed_reason"]


def test_min_area_threshold_alone_makes_slivers(
    session: Session, pasture: Pasture
) -> None:
    strict = DisputeSettings(min_area_m2=150_000, min_share=0.0)
    result = detect_disputes(session, township=TOWNSHIP, thresholds=strict)
    # P1-P2 (~197 000 m²) stays a dispute; P2-P6 (~124 000 m²) and P1-P4 are slivers.
    assert (result.new, result.slivers) == (1, 2)


def test_rerun_is_stable(session: Session, pasture: Pasture) -> None:
    first = detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    before = disputes(session)
    events = session.execute(text("SELECT count(*) FROM dispute_events")).scalar_one()
    second = detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    assert first.run_id != second.run_id
    assert (second.new, second.updated, second.reopened, second.closed) == (0, 0, 0, 0)
    assert second.detected == 2
    assert disputes(session) == before
    assert (
        session.execute(text("SELECT count(*) FROM dispute_events")).scalar_one()
        == events
    )
    findings = session.execute(
        text("SELECT count(*) FROM parcel_findings")
    ).scalar_one()
    assert findings == 4  # replaced, not accumulated


def test_changed_overlap_updates_the_same_dispute(
    session: Session, pasture: Pasture
) -> None:
    detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    key = pair(pasture, "P1", "P2")
    before = disputes(session)[key]
    move_parcel(session, pasture.parcels["P2"], rect(102.509, 37.100, 102.518, 37.110))
    result = detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    after = disputes(session)[key]
    assert result.updated == 1
    assert after["id"] == before["id"]
    assert after["overlap_area_m2"] == pytest.approx(
        geodesic_area(rect(102.509, 37.100, 102.510, 37.110)), rel=0.005
    )
    note = session.execute(
        text(
            "SELECT note FROM dispute_events WHERE dispute_id = :d"
            " ORDER BY id DESC LIMIT 1"
        ),
        {"d": before["id"]},
    ).scalar_one()
    assert note.startswith("overlap changed")


def test_vanished_overlap_auto_closes_and_reopens_on_return(
    session: Session, pasture: Pasture
) -> None:
    detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    key = pair(pasture, "P1", "P2")
    dispute_id = disputes(session)[key]["id"]
    move_parcel(session, pasture.parcels["P2"], rect(102.510, 37.100, 102.518, 37.110))
    result = detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    # P2 now only touches P1; the bow-tie still overlaps P2.
    assert (result.closed, result.detected) == (1, 1)
    closed = disputes(session)[key]
    assert closed["status"] == "closed"
    assert closed["closed_reason"] == "the parcels were edited: they no longer overlap"
    move_parcel(session, pasture.parcels["P2"], pasture.shapes["P2"])
    back = detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    assert (back.new, back.reopened) == (0, 1)
    assert disputes(session)[key]["id"] == dispute_id
    assert disputes(session)[key]["status"] == "open"
    history = session.execute(
        text(
            "SELECT from_status, to_status FROM dispute_events"
            " WHERE dispute_id = :d ORDER BY id"
        ),
        {"d": dispute_id},
    ).all()
    assert [tuple(h) for h in history] == [
        (None, "open"),
        ("open", "closed"),
        ("closed", "open"),
    ]


def test_transfer_to_same_holder_turns_dispute_into_self_overlap(
    session: Session, pasture: Pasture
) -> None:
    detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    set_holder(session, pasture.parcels["P2"], pasture.households["H1"])
    result = detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    assert (result.closed, result.self_overlaps) == (1, 2)
    closed = disputes(session)[pair(pasture, "P1", "P2")]
    assert closed["closed_reason"] == "both parcels now have the same holder"


def test_detection_stays_in_its_township(session: Session, pasture: Pasture) -> None:
    other = make_pasture(session, township=OTHER_TOWNSHIP)
    result = detect_disputes(session, township=TOWNSHIP, thresholds=DEFAULTS)
    assert result.parcels == 6
    assert result.new == 2
    count_other = session.execute(
        text("SELECT count(*) FROM disputes WHERE township_code = :t"),
        {"t": OTHER_TOWNSHIP},
    ).scalar_one()
    assert count_other == 0
    assert other.parcels["P1"] not in {a for a, _ in disputes(session)}
