"""Assignment reports, endpoints, integrity, redraw preview/save and the demo hook."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.app.demo.load import load_demo
from gis_service.core.errors import NotFound
from grids.assignment.integrity import integrity_report
from grids.assignment.reports import grid_rollup
from grids.assignment.service import assign_households
from grids.tree.hierarchy import hierarchy_report
from tests.factories import (
    TOWNSHIP,
    make_cadre,
    make_grid,
    make_households,
    make_township,
)
from tests.grids.factories_assign import assignments, pin, rect

BASE = f"/townships/{TOWNSHIP}"
PROBLEM = "application/problem+json"


@pytest.fixture
def tree(session: Session) -> None:
    make_township(session)
    make_grid(session, "P", rect(102.50, 37.10, 102.52, 37.11), level="domain")
    make_grid(session, "G10", rect(102.50, 37.10, 102.51, 37.11), parent="P")
    make_grid(session, "G2", rect(102.51, 37.10, 102.52, 37.11), parent="P")


def test_rollup_counts_and_shortfall(session: Session, tree: None) -> None:
    make_cadre(session, "C1", grid="G10", capacity=2, base=(102.505, 37.105))
    west = [(102.501 + 0.001 * i, 37.105) for i in range(5)]
    tags = [["低保"], ["低保", "残疾"], [], [], [], []]
    make_households(session, [*west, (102.515, 37.105)], tags=tags)
    assign_households(session, township=TOWNSHIP)
    rows = {r.code: r for r in grid_rollup(session, township=TOWNSHIP)}
    assert list(rows) == ["P", "G10", "G2"]
    p, g10, g2 = rows["P"], rows["G10"], rows["G2"]
    assert (g10.households, g10.people, g10.assigned, g10.cadres) == (5, 15, 2, 1)
    assert g10.load_per_cadre == 2.0
    assert g10.shortfall == "grid G10 needs 1 more cadre for 3 households"
    assert (g2.households, g2.cadres, g2.cadres_needed) == (1, 0, 1)
    assert g2.shortfall == "grid G2 needs 1 more cadre for 1 household"
    assert (p.households, p.people, p.assigned, p.unassigned) == (6, 18, 2, 4)
    assert p.tagged == {"低保": 2, "残疾": 1}
    assert p.priority_households == 2
    assert p.shortfall == "grid P needs 2 more cadres for 4 households"


def test_run_endpoint_and_reports(
    client: TestClient, session: Session, tree: None
) -> None:
    make_cadre(session, "C1", grid="G10", capacity=1, base=(102.505, 37.105))
    make_households(
        session,
        [(102.505, 37.105), (102.506, 37.105), (102.515, 37.105), (102.6, 37.2)],
    )
    response = client.post(f"{BASE}/assignment/run")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["households"] == 4 and body["cadre_assigned"] == 1
    assert body["unassigned"] == {
        "outside_every_grid": 1,
        "grid_has_no_cadre": 1,
        "capacity_exhausted": 1,
    }
    unassigned = client.get(f"{BASE}/assignment/unassigned").json()
    got = {
        f["properties"]["code"]: f["properties"]["reason"]
        for f in unassigned["features"]
    }
    assert got == {
        "H002": "capacity_exhausted",
        "H003": "grid_has_no_cadre",
        "H004": "outside_every_grid",
    }
    only = client.get(
        f"{BASE}/assignment/unassigned", params={"reason": "grid_has_no_cadre"}
    )
    assert [f["properties"]["code"] for f in only.json()["features"]] == ["H003"]
    bad = client.get(f"{BASE}/assignment/unassigned", params={"reason": "nope"})
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    [cadre] = client.get(f"{BASE}/assignment/cadres").json()
    assert (cadre["code"], cadre["load"], cadre["capacity"]) == ("C1", 1, 1)
    assert cadre["mean_distance_m"] == 0.0
    again = client.post(f"{BASE}/assignment/run", json={"household_ids": [999999]})
    assert again.status_code == 404 and again.headers["content-type"] == PROBLEM


def test_integrity_joins_grids_households_cadres(session: Session, tree: None) -> None:
    c1 = make_cadre(session, "C1", grid="G10", base=(102.505, 37.105))
    ids = make_households(
        session, [(102.51, 37.105), (102.6, 37.2), (102.515, 37.105), (102.516, 37.105)]
    )
    pin(session, ids[2], c1)  # a G2 household pinned to a G10 cadre
    report = integrity_report(session, township=TOWNSHIP)
    assert report["households"]["stale_grid"]["count"] == 3  # never assigned yet
    assign_households(session, township=TOWNSHIP)
    report = integrity_report(session, township=TOWNSHIP)
    assert report["grids"]["counts"] == dict.fromkeys(report["grids"]["counts"], 0)
    h = report["households"]
    assert h["outside_every_grid"] == {"count": 1, "codes": ["H002"]}
    assert h["on_shared_border"] == {"count": 1, "codes": ["H001"]}
    assert h["in_sibling_overlap"]["count"] == 0 and h["stale_grid"]["count"] == 0
    assert report["unassigned"] == {
        "outside_every_grid": 1,
        "grid_has_no_cadre": 1,
        "capacity_exhausted": 0,
    }
    [astray] = report["cadres_outside_home_grid"]
    assert (astray["code"], astray["home_grid"]) == ("C1", "G10")
    assert astray["household_codes"] == ["H003"]


def _polygon(x0: float, x1: float) -> dict[str, object]:
    ring = [[x0, 37.10], [x1, 37.10], [x1, 37.11], [x0, 37.11], [x0, 37.10]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_redraw_preview_then_save(
    client: TestClient, session: Session, tree: None
) -> None:
    make_cadre(session, "W", grid="G10", base=(102.505, 37.105))
    make_cadre(session, "E", grid="G2", base=(102.515, 37.105))
    make_households(session, [(102.505, 37.105), (102.512, 37.105), (102.518, 37.105)])
    assign_households(session, township=TOWNSHIP)
    before = assignments(session)
    assert before["H002"] == ("G2", "E")
    body = {
        "grids": [
            {"code": "G10", "geometry": _polygon(102.50, 102.515)},
            {"code": "G2", "geometry": _polygon(102.515, 102.52)},
        ]
    }
    preview = client.post(f"{BASE}/grids/redraw/preview", json=body)
    assert preview.status_code == 200
    out = preview.json()
    assert out["saved"] is False
    assert out["households"] == [
        {
            "household_id": out["households"][0]["household_id"],
            "code": "H002",
            "old_grid": "G2",
            "new_grid": "G10",
            "old_cadre": "E",
            "new_cadre": "W",
        }
    ]
    assert {c["code"]: (c["gains"], c["losses"]) for c in out["cadres"]} == {
        "W": (1, 0),
        "E": (0, 1),
    }
    assert assignments(session) == before  # nothing written by the preview
    saved = client.post(f"{BASE}/grids/redraw", json=body)
    assert saved.status_code == 200
    assert saved.json()["households"] == out["households"]
    assert assignments(session)["H002"] == ("G10", "W")
    x_max = session.execute(
        text(
            "SELECT ST_XMax(geom) FROM grids WHERE township_code = :t AND code = 'G10'"
        ),
        {"t": TOWNSHIP},
    ).scalar_one()
    assert x_max == pytest.approx(102.515)


@pytest.mark.parametrize(
    ("geometry", "status"),
    [
        ({"type": "Point", "coordinates": [102.5, 37.1]}, 422),
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [
                        [102.5, 37.1],
                        [102.51, 37.11],
                        [102.51, 37.1],
                        [102.5, 37.11],
                        [102.5, 37.1],
                    ]
                ],
            },
            422,
        ),  # bow-tie
    ],
)
def test_redraw_rejects_bad_outlines(
    client: TestClient, tree: None, geometry: dict[str, object], status: int
) -> None:
    body = {"grids": [{"code": "G10", "geometry": geometry}]}
    response = client.post(f"{BASE}/grids/redraw/preview", json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["feature"] == "G10"
    unknown = {"grids": [{"code": "NOPE", "geometry": _polygon(102.5, 102.51)}]}
    assert client.post(f"{BASE}/grids/redraw/preview", json=unknown).status_code == 404


def test_demo_load_ends_assigned(session: Session) -> None:
    load_demo(session, households=200)
    outside, in_grid_without_cadre = session.execute(
        text(
            "SELECT count(*) FILTER (WHERE grid_id IS NULL), "
            "count(*) FILTER (WHERE grid_id IS NOT NULL AND cadre_id IS NULL) "
            "FROM households_assigned WHERE township_code = '620623101000'"
        )
    ).one()
    assert (outside, in_grid_without_cadre) == (2, 0)
    checks = hierarchy_report(session, township=TOWNSHIP)
    assert checks["grids_checked"] == 9
    assert checks["counts"] == dict.fromkeys(checks["counts"], 0)


def test_unknown_township_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="999999999999"):
        assign_households(session, township="999999999999")


def test_redraw_naming_a_grid_twice_is_refused(client: TestClient, tree: None) -> None:
    outline = _polygon(102.5, 102.51)
    body = {"grids": [{"code": "G10", "geometry": outline}] * 2}
    response = client.post(f"{BASE}/grids/redraw/preview", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert "G10" in response.text


def test_full_rerun_keeps_capacity_and_changes_nothing(session: Session) -> None:
    """Regression: a full re-run once counted current loads as extra capacity."""
    load_demo(session, households=300)
    for _ in range(2):
        summary = assign_households(session, township=TOWNSHIP)
        assert (summary.churn, summary.rows_written) == (0, 0)
    over = session.execute(
        text(
            "SELECT c.code, c.capacity, count(*) FROM households_assigned h "
            "JOIN cadres c ON c.id = h.cadre_id WHERE h.township_code = :t "
            "GROUP BY c.code, c.capacity HAVING count(*) > c.capacity"
        ),
        {"t": TOWNSHIP},
    ).all()
    assert over == []
