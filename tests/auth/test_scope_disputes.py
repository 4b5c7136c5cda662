"""Disputes by role: a dispute is in scope when one of its parcels' holders is."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis_service.core.settings import DisputeSettings
from layers.disputes.detect import detect_disputes
from tests.auth.factories_scope import make_world
from tests.factories import TOWNSHIP
from tests.layers.factories_disputes import make_parcels, rect

A = f"/townships/{TOWNSHIP}"


def test_disputes_list_and_items_are_scoped(session: Session, app) -> None:  # type: ignore[no-untyped-def]
    world = make_world(session)
    h = world.households
    make_parcels(
        session,
        [
            ("P1", rect(102.500, 37.100, 102.502, 37.102), h["H001"], None),
            ("P3", rect(102.501, 37.100, 102.503, 37.102), h["H002"], None),
            ("P2", rect(102.510, 37.100, 102.512, 37.102), h["H005"], None),
            ("P4", rect(102.511, 37.100, 102.513, 37.102), h["H006"], None),
        ],
    )
    detect_disputes(session, township=TOWNSHIP, thresholds=DisputeSettings())
    anon = TestClient(app, raise_server_exceptions=False)
    seen = {}
    for user in ("admin_a", "leader_a", "cadre_c1"):
        body = anon.get(f"{A}/disputes", headers=world.headers[user]).json()
        items = body["items"] if isinstance(body, dict) else body
        seen[user] = {d["id"] for d in items}
    assert len(seen["admin_a"]) == 2
    assert len(seen["leader_a"]) == 1 and seen["leader_a"] == seen["cadre_c1"]
    [outside] = seen["admin_a"] - seen["leader_a"]
    [inside] = seen["leader_a"]
    leader = world.headers["leader_a"]
    assert anon.get(f"{A}/disputes/{inside}", headers=leader).status_code == 200
    assert anon.get(f"{A}/disputes/{outside}", headers=leader).status_code == 404
    move = anon.post(
        f"{A}/disputes/{inside}/transitions",
        json={"to": "mediating", "actor": "x"},
        headers=world.headers["cadre_c1"],
    )
    assert move.status_code in (403, 404, 422), move.text
