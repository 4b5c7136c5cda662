"""Coverage over a hand-built visit history: frequency rules, rollup, overdue order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from pyproj import Geod

from gis_service.core.auth.models import User
from gis_service.core.auth.principal import resolve
from gis_service.core.auth.scope import apply_scope, clear_scope
from grids.visits import coverage, coverage_sql, status_select
from grids.visits.coverage import (
    coverage_by_cadre,
    coverage_by_grid,
    household_statuses,
    set_rules,
    uncovered_households,
)
from grids.visits.schemas import RuleSet
from tests.auth.factories_scope import make_world
from tests.factories import (
    TOWNSHIP,
    make_grid,
    make_households,
    make_township,
    square,
)
from tests.grids.factories_visits import LAT, Town, at, make_town, make_visit_rows

BASE = f"/townships/{TOWNSHIP}"
AS_OF = at("2026-06-30")
OTHER_TOWNSHIP_NO_GRIDS = "620623109000"
SINCE = at("2026-04-01")


def visit(
    household: int,
    cadre: int,
    day: str,
    lon: float | None = None,
    lat: float | None = None,
) -> dict[str, object]:
    return {"household_id": household, "cadre_id": cadre, "visited_at": at(day),
            "lon": lon, "lat": lat}  # fmt: skip


def history(session: Session) -> Town:
    """H001 (monthly) 10 d ago, H002 (quarterly) 121 d, H003 (monthly) 60 d,
    H004 never, H005 (monthly) 36 d, H006 (quarterly) 29 d."""
    town = make_town(session)
    h, c = town.households, town.cadres
    make_visit_rows(
        session,
        [
            visit(h["H001"], c["C1"], "2026-06-20"),
            visit(h["H002"], c["C1"], "2026-03-01"),
            visit(h["H003"], c["C1"], "2026-05-01", 102.502, LAT + 0.005),  # ≈555 m off
            visit(h["H005"], c["C2"], "2026-05-25"),
            visit(h["H006"], c["C2"], "2026-06-01", 102.511, LAT),
            visit(h["H006"], c["C2"], "2026-01-10"),
        ],
    )  # fmt: skip
    return town


def test_uncovered_ordered_by_how_overdue(session: Session, client: TestClient) -> None:
    history(session)
    due = uncovered_households(session, township=TOWNSHIP, as_of=AS_OF).items
    assert [(u.household, u.overdue_days) for u in due] == [
        ("H004", None), ("H002", 31.0), ("H003", 30.0), ("H005", 6.0),
    ]  # fmt: skip
    assert [u.interval_days for u in due] == [90, 90, 30, 30]
    assert [u.cadre for u in due] == ["C1", "C1", "C1", "C2"]
    h004 = due[0]
    expected = Geod(ellps="WGS84").inv(102.500, 37.101, 102.503, LAT)[2]
    assert h004.distance_to_base_m == pytest.approx(expected, abs=0.01)
    api = client.get(
        f"{BASE}/coverage/uncovered", params={"as_of": AS_OF.isoformat(), "cadre": "C2"}
    )
    assert api.status_code == 200
    assert [u["household"] for u in api.json()["items"]] == ["H005"]


def test_coverage_per_grid_rolls_up(session: Session) -> None:
    history(session)
    report = coverage_by_grid(session, township=TOWNSHIP, since=SINCE, until=AS_OF)
    got = {r.code: (r.households, r.visited, r.up_to_date, r.due) for r in report.rows}
    assert got == {"R": (6, 4, 2, 4), "A": (4, 2, 1, 3), "B": (2, 2, 1, 1)}
    assert (report.township.households, report.township.visited) == (6, 4)
    a = next(r for r in report.rows if r.code == "A")
    assert (a.visited_share, a.up_to_date_share) == (0.5, 0.25)
    assert [r.code for r in report.rows] == ["R", "A", "B"]  # tree order


def test_coverage_per_grid_is_the_plain_count(session: Session) -> None:
    """Each subtree's figures (rolled up from per-grid tallies) are a plain count of
    its households: with an empty grid three levels down and a household off-grid."""
    history(session)
    make_grid(session, "A1", square(102.49, 37.09, 0.005), parent="A")
    make_households(session, [(102.6, LAT)], prefix="X")
    rows = household_statuses(session, township=TOWNSHIP, as_of=AS_OF)
    visited = set(
        session.execute(
            text(
                "SELECT household_id FROM visits WHERE township_code = :t"
                " AND visited_at >= :since AND visited_at < :until"
            ),
            {"t": TOWNSHIP, "since": SINCE, "until": AS_OF},
        ).scalars()
    )
    paths = dict(
        session.execute(
            text("SELECT id, path FROM grids WHERE township_code = :t"),
            {"t": TOWNSHIP},
        ).all()
    )

    def plain(members: list[dict[str, Any]]) -> tuple[int, int, int]:
        return (
            len(members),
            sum(r["id"] in visited for r in members),
            sum(r["overdue_days"] is not None and r["overdue_days"] <= 0
                for r in members),
        )  # fmt: skip

    report = coverage_by_grid(session, township=TOWNSHIP, since=SINCE, until=AS_OF)
    got = {r.code: (r.households, r.visited, r.up_to_date) for r in report.rows}
    assert got == {
        r.code: plain(
            [h for h in rows if h["grid_id"] is not None
             and paths[h["grid_id"]].startswith(paths[r.id])]
        )
        for r in report.rows
    }  # fmt: skip
    assert got["A1"] == (0, 0, 0)
    township = report.township
    assert (township.households, township.visited, township.up_to_date) == plain(rows)
    assert township.households == 7


@pytest.mark.parametrize(
    ("grid", "cadre"), [(None, None), ("A", None), ("B", None), (None, "C1")]
)
def test_probing_each_household_reads_the_same_as_every_visit(
    session: Session, grid: str | None, cadre: str | None
) -> None:
    """The two ways of reading last visits give the same rows, every statement."""
    history(session)
    params, _ = coverage._params(
        session, township=TOWNSHIP, since=SINCE, until=AS_OF, grid=grid,
        cadre=cadre, rules=None,
    )  # fmt: skip
    params.update(
        unassigned_inside=True, priority_tags=["脱贫不稳定户"], limit=10, offset=0,
        far_m=100.0,
    )  # fmt: skip
    for statements in (
        coverage_sql.BY_GRID, coverage_sql.BY_GRID_STATUSES, coverage_sql.BY_CADRE,
        coverage_sql.HOUSEHOLD_STATUS,
        coverage_sql.UNCOVERED, status_select._TALLY,
    ):  # fmt: skip
        every, probed = (
            session.execute(statements[k], params).all() for k in (False, True)
        )
        assert every == probed and every


def test_household_statuses_agree_with_the_reports(session: Session) -> None:
    history(session)
    rows = household_statuses(session, township=TOWNSHIP, as_of=AS_OF)
    assert [(r["code"], r["status"], r["interval_days"]) for r in rows] == [
        ("H001", "visited", 30), ("H002", "overdue", 90), ("H003", "overdue", 30),
        ("H004", "never_visited", 90), ("H005", "overdue", 30),
        ("H006", "visited", 90),
    ]  # fmt: skip
    assert [r["code"] for r in rows if r["priority"]] == ["H001", "H003", "H005"]
    page = uncovered_households(session, township=TOWNSHIP, as_of=AS_OF)
    due = {u.household for u in page.items}
    assert due == {r["code"] for r in rows if r["status"] != "visited"}
    report = coverage_by_grid(session, township=TOWNSHIP, since=SINCE, until=AS_OF)
    up_to_date = {r.id: r.up_to_date for r in report.rows}
    for grid in ("A", "B"):
        sub = household_statuses(session, township=TOWNSHIP, as_of=AS_OF, grid=grid)
        visited = [r for r in sub if r["status"] == "visited"]
        assert len(visited) == up_to_date[sub[0]["grid_id"]] == 1
    c2 = household_statuses(session, township=TOWNSHIP, as_of=AS_OF, cadre="C2")
    assert [(r["code"], r["cadre"]) for r in c2] == [("H005", "C2"), ("H006", "C2")]


def test_coverage_per_cadre_counts_far_fixes(
    session: Session, client: TestClient
) -> None:
    history(session)
    report = coverage_by_cadre(session, township=TOWNSHIP, since=SINCE, until=AS_OF)
    got = {r.code: (r.households, r.visited, r.up_to_date, r.visits, r.far_visits)
           for r in report.rows}  # fmt: skip
    assert got == {"C1": (4, 2, 1, 2, 1), "C2": (2, 2, 1, 2, 0)}
    api = client.get(
        f"{BASE}/coverage/cadres",
        params={"since": SINCE.isoformat(), "until": AS_OF.isoformat(), "far_m": 600},
    ).json()
    assert [r["far_visits"] for r in api["rows"]] == [0, 0]


def test_frequency_rules_change_what_is_due(
    session: Session, client: TestClient
) -> None:
    history(session)
    response = client.put(
        f"{BASE}/visit-rules", json={"default_days": 120, "tags": {"脱贫不稳定户": 7}}
    )
    assert response.status_code == 200
    assert response.json() == {"default_days": 120, "tags": {"脱贫不稳定户": 7}}
    due = uncovered_households(session, township=TOWNSHIP, as_of=AS_OF).items
    assert [(u.household, u.overdue_days) for u in due] == [
        ("H004", None), ("H001", 3.0), ("H002", 1.0),
    ]  # fmt: skip
    bad = client.put(
        f"{BASE}/visit-rules", json={"default_days": 90, "tags": {"富裕户": 30}}
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "tags.富裕户"


def test_rules_default_and_reset(session: Session, client: TestClient) -> None:
    make_town(session)
    defaults = client.get(f"{BASE}/visit-rules").json()
    assert defaults["default_days"] == 90
    assert defaults["tags"] == {
        "脱贫不稳定户": 30,
        "边缘易致贫户": 30,
        "突发严重困难户": 30,
    }
    set_rules(session, township=TOWNSHIP, rules=RuleSet(default_days=60))
    assert client.get(f"{BASE}/visit-rules").json() == {"default_days": 60, "tags": {}}


def test_empty_period_is_refused(session: Session, client: TestClient) -> None:
    make_town(session)
    response = client.get(
        f"{BASE}/coverage/grids",
        params={
            "since": AS_OF.isoformat(),
            "until": datetime(2026, 1, 1).isoformat() + "+00:00",
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "since"


def test_naive_period_bounds_are_china_time(
    session: Session, client: TestClient
) -> None:
    # A visit at 07:30 on 1 March China time (23:30 UTC the day before): a period
    # "since 2026-03-01" given without an offset used to be read as UTC midnight,
    # missing the visit, and without `until` it was a 500 (naive vs aware).
    town = make_town(session)
    h, c = town.households, town.cadres
    early = datetime.fromisoformat("2026-03-01T07:30:00+08:00")
    row = {"household_id": h["H001"], "cadre_id": c["C1"], "visited_at": early}
    make_visit_rows(session, [row])
    for params in (
        {"since": "2026-03-01T00:00:00", "until": "2026-04-01T00:00:00"},
        {"since": "2026-03-01T00:00:00"},
    ):
        response = client.get(f"{BASE}/coverage/grids", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["since"] == "2026-02-28T16:00:00Z"
        assert body["township"]["visited"] == 1
    # the service takes naive times (the CLI passes them) the same way
    report = coverage_by_cadre(
        session, township=TOWNSHIP, since=datetime(2026, 3, 1), cadre="C1"
    )
    assert report.township.visited == 1

    def due_at(hour: int) -> list[str]:
        as_of = datetime(2026, 3, 1, hour)  # naive: China time
        rows = uncovered_households(session, township=TOWNSHIP, as_of=as_of).items
        return [u.household for u in rows]

    assert "H001" in due_at(7)  # the visit at 07:30 has not happened yet
    assert "H001" not in due_at(8)


def test_a_small_part_of_the_township_is_probed(session: Session) -> None:
    """Probe when the statement sees under PROBE_SHARE of the township's grids."""
    make_township(session, OTHER_TOWNSHIP_NO_GRIDS, name="无网格镇")
    make_households(session, [(102.5, 37.1)], township=OTHER_TOWNSHIP_NO_GRIDS)
    make_world(session)  # township A: grids R > A, B

    def probe(grid: str | None, cadre: str | None = None) -> tuple[float, bool]:
        params, _ = coverage._params(
            session, township=TOWNSHIP, since=None, until=AS_OF, grid=grid,
            cadre=cadre, rules=None,
        )  # fmt: skip
        return coverage.seen_share(session, params), coverage.probed(session, params)

    assert probe(None) == (1.0, False)  # the whole township: read once
    params, _ = coverage._params(
        session, township=OTHER_TOWNSHIP_NO_GRIDS, since=None, until=AS_OF,
        grid=None, cadre=None, rules=None,
    )  # fmt: skip
    assert coverage.seen_share(session, params) == 1.0  # no grids: read whole
    assert probe("R") == (1.0, False)
    assert probe("A") == (pytest.approx(1 / 3), True)
    assert probe(None, cadre="C1")[1] is True
    # a grid leader of A sees one grid of three: probed, though naming none
    user = session.query(User).filter_by(username="leader_a").one()
    apply_scope(session, resolve(session, user, via="bearer"))
    try:
        seen = session.execute(text("SELECT count(*) FROM grids")).scalar()
        total = session.execute(
            text("SELECT gridgis_township_grids(:t)"), {"t": TOWNSHIP}
        ).scalar()
        assert (seen, total) == (1, 3)  # the count, not the grids, passes RLS
        assert probe(None) == (pytest.approx(1 / 3), True)
    finally:
        clear_scope(session)
