"""Dispute review over HTTP: detection, list filters, GeoJSON detail, workflow."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session

import shapely
from shapely.geometry import shape

from gis_service.core.units import MU_M2
from layers.disputes.schemas import (
    DetectionOut,
    DisputeDetailOut,
    DisputeList,
    DisputeSummaryOut,
    FindingList,
)
from tests.factories import TOWNSHIP
from tests.layers.factories_disputes import (
    Pasture,
    geodesic_area,
    make_parcels,
    make_pasture,
    rect,
)

PROBLEM = "application/problem+json"
BASE = f"/townships/{TOWNSHIP}/disputes"


@pytest.fixture
def pasture(session: Session) -> Pasture:
    return make_pasture(session)


@pytest.fixture
def detected(client: TestClient, pasture: Pasture) -> Pasture:
    response = client.post(f"{BASE}/detect")
    assert response.status_code == 200
    return pasture


def dispute_id(session: Session, p: Pasture, a: str, b: str) -> int:
    x, y = sorted((p.parcels[a], p.parcels[b]))
    return int(
        session.execute(
            text("SELECT id FROM disputes WHERE parcel_a_id = :a AND parcel_b_id = :b"),
            {"a": x, "b": y},
        ).scalar_one()
    )


def test_detect_endpoint_returns_counts(client: TestClient, pasture: Pasture) -> None:
    response = client.post(f"{BASE}/detect", json={"min_width_m": 0.5})
    assert response.status_code == 200
    body = DetectionOut.model_validate(response.json())
    assert (body.new, body.updated, body.closed, body.detected) == (3, 0, 0, 3)
    assert (body.slivers, body.self_overlaps, body.invalid_parcels) == (0, 1, 1)
    assert body.min_width_m == 0.5
    assert body.min_area_m2 == 100.0  # the configured default
    assert body.min_share == 0.0  # the share rule is off unless asked for


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"min_share": 2}, "min_share"), ({"min_area_m2": -1}, "min_area_m2")],
)
def test_detect_rejects_bad_thresholds(
    client: TestClient, pasture: Pasture, payload: dict, field: str
) -> None:
    response = client.post(f"{BASE}/detect", json=payload)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == field


def test_list_shows_both_parcels_with_masked_holders(
    client: TestClient, detected: Pasture
) -> None:
    response = client.get(BASE)
    assert response.status_code == 200
    body = DisputeList.model_validate(response.json())
    assert body.numberMatched == 2
    first = body.items[0]  # largest overlap first: P1-P2 (~197 000 m²)
    assert [p.contract_no for p in first.parcels] == [
        f"{TOWNSHIP}-P1", f"{TOWNSHIP}-P2"
    ]  # fmt: skip
    assert first.overlap_area_mu == pytest.approx(
        first.overlap_area_m2 / MU_M2, abs=0.01
    )
    assert first.allowed_transitions == ["mediating", "dismissed"]
    holder = first.parcels[1].holder
    assert holder is not None
    assert (holder.grid_code, holder.cadre_code) == ("G2", "C2")
    assert holder.phone == "138****5678"
    assert holder.id_number == "620623********1234"
    assert holder.cadre_phone is None
    assert first.parcels[1].contract_area_mu == 2000.0
    assert "13812345678" not in response.text
    assert "620623199001011234" not in response.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", 2),
        ("?status=open", 2),
        ("?status=mediating", 0),
        ("?grid=G1", 1),  # P1-P2 (H1 in G1); P2-P6 is H2 (G2) vs unassigned H3
        ("?grid=G2", 2),
        ("?min_area_m2=150000", 1),
        ("?status=open&grid=G2&min_area_m2=150000", 1),
    ],
)
def test_list_filters(
    client: TestClient, detected: Pasture, query: str, expected: int
) -> None:
    response = client.get(BASE + query)
    assert response.status_code == 200
    assert response.json()["numberMatched"] == expected
    assert len(response.json()["items"]) == expected


def test_list_unknown_grid_is_named(client: TestClient, detected: Pasture) -> None:
    response = client.get(f"{BASE}?grid=NOPE")
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "grid"


def test_detail_is_geojson_with_parcels_and_overlap(
    client: TestClient, session: Session, detected: Pasture
) -> None:
    did = dispute_id(session, detected, "P1", "P2")
    response = client.get(f"{BASE}/{did}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    kinds = [f["properties"]["kind"] for f in body["features"]]
    assert kinds == ["parcel", "parcel", "overlap"]
    overlap = shape(body["features"][2]["geometry"])
    expected = shapely.intersection(detected.shapes["P1"], detected.shapes["P2"])
    assert overlap.symmetric_difference(expected).area < 1e-12
    assert body["features"][2]["properties"]["area_m2"] == pytest.approx(
        geodesic_area(expected), rel=0.005
    )
    assert body["dispute"]["status"] == "open"
    assert body["dispute"]["events"][0]["to_status"] == "open"
    assert body["features"][0]["properties"]["holder"]["phone"] == "138****5678"


def test_detail_of_unknown_dispute_is_404(client: TestClient, pasture: Pasture) -> None:
    response = client.get(f"{BASE}/999999")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


def test_workflow_open_mediating_resolved(
    client: TestClient, session: Session, detected: Pasture
) -> None:
    did = dispute_id(session, detected, "P1", "P2")
    step = client.post(
        f"{BASE}/{did}/transitions",
        json={"to": "mediating", "actor": "C2", "note": "both families met"},
    )
    assert step.status_code == 200
    assert step.json()["status"] == "mediating"
    done = client.post(
        f"{BASE}/{did}/transitions",
        json={"to": "resolved", "actor": "镇司法所", "note": "boundary re-staked"},
    )
    assert done.status_code == 200
    body = DisputeDetailOut.model_validate(done.json())
    assert body.status == "resolved"
    assert body.allowed_transitions == []
    assert [(e.from_status, e.to_status, e.actor) for e in body.events] == [
        (None, "open", "detection"),
        ("open", "mediating", "C2"),
        ("mediating", "resolved", "镇司法所"),
    ]
    assert body.events[2].note == "boundary re-staked"


@pytest.mark.parametrize(
    ("steps", "illegal"),
    [
        ([], "resolved"),  # open -> resolved skips mediation
        (["mediating", "resolved"], "mediating"),  # resolved is final
        (["dismissed"], "mediating"),  # dismissed is final
    ],
)
def test_illegal_transitions_are_409(
    client: TestClient,
    session: Session,
    detected: Pasture,
    steps: list[str],
    illegal: str,
) -> None:
    did = dispute_id(session, detected, "P1", "P2")
    for to in steps:
        ok = client.post(f"{BASE}/{did}/transitions", json={"to": to, "actor": "x"})
        assert ok.status_code == 200
    response = client.post(
        f"{BASE}/{did}/transitions", json={"to": illegal, "actor": "x"}
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert f"cannot move to {illegal}" in response.json()["detail"]
    events = session.execute(
        text("SELECT count(*) FROM dispute_events WHERE dispute_id = :d"), {"d": did}
    ).scalar_one()
    assert events == 1 + len(steps)


def test_closed_is_not_a_review_step(
    client: TestClient, session: Session, detected: Pasture
) -> None:
    did = dispute_id(session, detected, "P1", "P2")
    response = client.post(
        f"{BASE}/{did}/transitions", json={"to": "closed", "actor": "x"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "to"


def test_resolved_dispute_keeps_outcome_when_overlap_persists(
    client: TestClient, session: Session, detected: Pasture
) -> None:
    did = dispute_id(session, detected, "P1", "P2")
    for to in ("mediating", "resolved"):
        client.post(f"{BASE}/{did}/transitions", json={"to": to, "actor": "x"})
    again = client.post(f"{BASE}/detect").json()
    assert (again["new"], again["closed"]) == (0, 0)
    assert client.get(f"{BASE}/{did}").json()["dispute"]["status"] == "resolved"


def test_summary_counts_open_and_contested_area(
    client: TestClient, session: Session, detected: Pasture
) -> None:
    did = dispute_id(session, detected, "P2", "P6")
    client.post(f"{BASE}/{did}/transitions", json={"to": "dismissed", "actor": "x"})
    response = client.get(f"{BASE}/summary")
    assert response.status_code == 200
    body = DisputeSummaryOut.model_validate(response.json())
    assert body.by_status == {"open": 1, "dismissed": 1}
    assert body.open_disputes == 1
    strip = shapely.intersection(detected.shapes["P1"], detected.shapes["P2"])
    assert body.contested_area_mu == pytest.approx(
        geodesic_area(strip) / MU_M2, rel=0.005
    )
    assert body.last_run is not None
    assert body.last_run.new == 2


def test_findings_endpoint_filters_by_kind(
    client: TestClient, detected: Pasture
) -> None:
    response = client.get(f"{BASE}/findings?kind=sliver")
    assert response.status_code == 200
    body = FindingList.model_validate(response.json())
    assert body.numberMatched == 1
    item = body.items[0]
    assert (item.contract_no, item.other_contract_no) == (
        f"{TOWNSHIP}-P1", f"{TOWNSHIP}-P4"
    )  # fmt: skip
    everything = client.get(f"{BASE}/findings").json()
    assert everything["numberMatched"] == 4


def test_other_township_is_404(client: TestClient, detected: Pasture) -> None:
    response = client.get("/townships/620623999999/disputes")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


def three_over_one_spot(client: TestClient, session: Session, pasture: Pasture) -> None:
    """Three holders' parcels over one spot: three disputes, one contested area."""
    h = pasture.households
    make_parcels(
        session,
        [(f"S{k}", rect(102.6 + 0.0002 * k, 37.2, 102.61, 37.21), h[f"H{k}"], None)
         for k in (1, 2, 3)],
    )  # fmt: skip
    assert client.post(f"{BASE}/detect").status_code == 200


def open_union(session: Session) -> float:
    """The geodesic area of the open overlaps' union, worked out here."""
    overlaps = [
        shapely.from_wkb(bytes(w))
        for w in session.execute(
            text(
                "SELECT ST_AsBinary(overlap) FROM disputes"
                " WHERE status IN ('open', 'mediating')"
            )
        ).scalars()
    ]
    return geodesic_area(shapely.union_all(overlaps))


def test_contested_area_counts_a_spot_under_several_disputes_once(
    client: TestClient, session: Session, pasture: Pasture
) -> None:
    three_over_one_spot(client, session, pasture)
    union = open_union(session)
    overlaps = session.execute(
        text("SELECT overlap_area_m2 FROM disputes WHERE status = 'open'")
    ).scalars()
    assert union < sum(overlaps) - 1_000  # they overlap
    body = client.get(f"{BASE}/summary").json()
    assert body["contested_area_m2"] == pytest.approx(union, rel=1e-6)


def test_contested_area_is_worked_out_once_per_set_of_overlaps(
    client: TestClient, session: Session, pasture: Pasture
) -> None:
    three_over_one_spot(client, session, pasture)
    read: list[str] = []
    event.listen(
        session.connection(),
        "before_cursor_execute",
        lambda _c, _cur, statement, *_a: read.append(statement),
    )
    first = client.get(f"{BASE}/summary").json()["contested_area_m2"]
    assert sum("AS wkb" in s for s in read) == 1  # the overlaps were read
    read.clear()
    assert client.get(f"{BASE}/summary").json()["contested_area_m2"] == first
    assert read and not any("AS wkb" in s for s in read)  # same digest: not again
    spot = session.execute(
        text(
            "SELECT d.id FROM disputes d JOIN pasture_parcels p"
            " ON p.id = d.parcel_a_id AND p.contract_no LIKE '%S1'"
            " WHERE d.status = 'open' ORDER BY d.id LIMIT 1"
        )
    ).scalar_one()
    moved = client.post(
        f"{BASE}/{spot}/transitions", json={"to": "dismissed", "actor": "x"}
    )
    assert moved.status_code == 200
    after = client.get(f"{BASE}/summary").json()["contested_area_m2"]
    assert after == pytest.approx(open_union(session), rel=1e-6)
    assert after < first - 1_000  # one overlap fewer: worked out again
    # open and mediating: still the same overlaps, each status digested apart
    other = session.execute(
        text("SELECT min(id) FROM disputes WHERE status = 'open'")
    ).scalar_one()
    client.post(f"{BASE}/{other}/transitions", json={"to": "mediating", "actor": "x"})
    read.clear()
    assert client.get(f"{BASE}/summary").json()["contested_area_m2"] == after
    assert sum("AS wkb" in s for s in read) == 1
    read.clear()
    assert client.get(f"{BASE}/summary").json()["contested_area_m2"] == after
    assert not any("AS wkb" in s for s in read)
