"""Province summary by county: the coverage rule of each township, and 办结率."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from grids.visits.coverage import coverage_by_grid, set_rules
from grids.visits.schemas import RuleSet
from grids.visits.summary import UNKNOWN_COUNTY, county_summary
from tests.factories import TOWNSHIP, make_households, make_township
from tests.grids.factories_visits import at, make_town, make_visit_rows

OTHER = "620623102000"
THIRD = "620623103000"
UNTIL = at("2026-06-30")


def _county(session: Session, code: str, county: str) -> None:
    session.execute(
        text("UPDATE townships SET county = :c WHERE code = :t"),
        {"c": county, "t": code},
    )


def _demand(session: Session, township: str, household: int, status: str) -> None:
    session.execute(
        text(
            "INSERT INTO demands (township_code, household_id, category, description,"
            " status) VALUES (:t, :h, 'other', '诉求', :s)"
        ),
        {"t": township, "h": household, "s": status},
    )


def test_county_rates_follow_each_townships_rules(session: Session) -> None:
    town = make_town(session)  # H001 脱贫不稳定户 (30 d by default)
    h = town.households
    make_visit_rows(
        session,
        [
            {"household_id": h["H001"], "cadre_id": town.cadres["C1"],
             "visited_at": "2026-06-10T10:00:00+08:00"},  # 20 d ago: 30 d rule, ok
            {"household_id": h["H002"], "cadre_id": town.cadres["C1"],
             "visited_at": "2026-05-01T10:00:00+08:00"},  # 60 d: within 90 d
            {"household_id": h["H005"], "cadre_id": town.cadres["C2"],
             "visited_at": "2026-04-01T10:00:00+08:00"},  # 90 d: 30 d rule, overdue
        ],
    )  # fmt: skip
    set_rules(session, township=TOWNSHIP, rules=RuleSet(default_days=45, tags={}))
    make_township(session, OTHER, "乙镇")
    make_households(session, [(102.6, 37.2), (102.61, 37.2)], township=OTHER)
    make_township(session, THIRD, "丙镇")
    make_households(session, [(102.7, 37.3)], township=THIRD)
    _county(session, TOWNSHIP, "天祝县")
    _county(session, OTHER, "天祝县")
    _demand(session, TOWNSHIP, h["H001"], "resolved")
    _demand(session, TOWNSHIP, h["H002"], "open")
    _demand(session, TOWNSHIP, h["H003"], "resolved")

    rows = {r["county"]: r for r in county_summary(session, until=UNTIL)}

    expected = coverage_by_grid(session, township=TOWNSHIP, until=UNTIL).township
    assert expected.up_to_date == 1  # 45 d for everyone now: only H001
    tianzhu = rows["天祝县"]
    assert tianzhu["townships"] == 2
    assert tianzhu["households"] == expected.households + 2 == 8
    assert tianzhu["up_to_date"] == expected.up_to_date
    assert tianzhu["never_visited"] == 3 + 2
    assert tianzhu["coverage_rate"] == round(1 / 8, 4)
    assert (tianzhu["demands"], tianzhu["resolved"]) == (3, 2)
    assert tianzhu["closure_rate"] == round(2 / 3, 4)
    other = rows[UNKNOWN_COUNTY]
    assert (other["townships"], other["households"], other["up_to_date"]) == (1, 1, 0)
    assert other["closure_rate"] is None


def test_default_rules_apply_where_a_township_has_none(session: Session) -> None:
    town = make_town(session)
    h = town.households
    make_visit_rows(
        session,
        [
            {"household_id": h["H002"], "cadre_id": town.cadres["C1"],
             "visited_at": "2026-05-01T10:00:00+08:00"},  # 60 d: within 90 d
            {"household_id": h["H001"], "cadre_id": town.cadres["C1"],
             "visited_at": "2026-05-01T10:00:00+08:00"},  # 60 d: monitored 30 d
        ],
    )  # fmt: skip
    rows = county_summary(session, until=UNTIL)
    report = coverage_by_grid(session, township=TOWNSHIP, until=UNTIL).township
    assert report.up_to_date == 1
    assert [(r["households"], r["up_to_date"]) for r in rows] == [(6, 1)]


def test_county_summary_over_http(session: Session, client: TestClient) -> None:
    make_town(session)
    response = client.get("/summary/counties", params={"until": "2026-06-30T10:00:00"})
    assert response.status_code == 200, response.text
    assert [(r["county"], r["households"]) for r in response.json()] == [
        (UNKNOWN_COUNTY, 6)
    ]
    bad = client.get("/summary/counties", params={"until": "yesterday"})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
