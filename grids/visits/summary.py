"""Province-wide summary: coverage and closure rates by county, one statement.

The same overdue rule as ``grids.visits.coverage`` (a household's interval is the
shortest rule of its tags and the rule for everyone; each township's own rules,
or the defaults where it has none), applied to every township at once. Every
township's part of the work is independent, so on a distributed database the
aggregate runs on each node and is combined.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from grids.visits.coverage import DEFAULT_RULES

UNKNOWN_COUNTY = "（未填县）"

_SUMMARY = text(
    """
    WITH defaults AS (
        SELECT d.tag, d.days
        FROM jsonb_to_recordset(CAST(:defaults AS jsonb)) AS d(tag text, days int)
    ), rules AS (
        SELECT r.township_code, r.tag, r.interval_days AS days FROM visit_rules r
        UNION ALL
        SELECT t.code, d.tag, d.days FROM townships t CROSS JOIN defaults d
        WHERE NOT EXISTS (SELECT 1 FROM visit_rules r WHERE r.township_code = t.code)
    ), everyone AS (
        SELECT township_code, min(days) AS days FROM rules WHERE tag = '*'
        GROUP BY township_code
    ), tagged AS (
        SELECT h.township_code, h.id, min(r.days) AS days
        FROM households h
        CROSS JOIN LATERAL unnest(h.tags) AS ht(tag)
        JOIN rules r ON r.township_code = h.township_code AND r.tag = ht.tag
        GROUP BY h.township_code, h.id
    ), last_visit AS (
        SELECT township_code, household_id, max(visited_at) AS at
        FROM visits WHERE visited_at < :until
        GROUP BY township_code, household_id
    ), hh AS (
        SELECT h.township_code,
               lv.at IS NULL AS never,
               lv.at IS NOT NULL AND lv.at >= CAST(:until AS timestamptz)
                   - make_interval(days => LEAST(COALESCE(e.days, :default_days),
                                                 COALESCE(tg.days, 2147483647)))
                   AS up_to_date
        FROM households h
        LEFT JOIN everyone e ON e.township_code = h.township_code
        LEFT JOIN tagged tg ON tg.township_code = h.township_code AND tg.id = h.id
        LEFT JOIN last_visit lv
               ON lv.township_code = h.township_code AND lv.household_id = h.id
    ), by_township AS (
        SELECT township_code, count(*) AS households,
               count(*) FILTER (WHERE up_to_date) AS up_to_date,
               count(*) FILTER (WHERE never) AS never_visited
        FROM hh GROUP BY township_code
    ), demand_tally AS (
        SELECT township_code, count(*) AS demands,
               count(*) FILTER (WHERE status = 'resolved') AS resolved
        FROM demands GROUP BY township_code
    )
    SELECT COALESCE(t.county, :unknown) AS county, count(*) AS townships,
           COALESCE(sum(b.households), 0)::bigint AS households,
           COALESCE(sum(b.up_to_date), 0)::bigint AS up_to_date,
           COALESCE(sum(b.never_visited), 0)::bigint AS never_visited,
           COALESCE(sum(d.demands), 0)::bigint AS demands,
           COALESCE(sum(d.resolved), 0)::bigint AS resolved
    FROM townships t
    LEFT JOIN by_township b ON b.township_code = t.code
    LEFT JOIN demand_tally d ON d.township_code = t.code
    GROUP BY 1 ORDER BY 1
    """
)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def county_summary(
    session: Session, *, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Coverage rate (up to date / households) and closure rate (办结率) per county."""
    rules = [{"tag": "*", "days": DEFAULT_RULES.default_days}] + [
        {"tag": tag, "days": days} for tag, days in DEFAULT_RULES.tags.items()
    ]
    rows = session.execute(
        _SUMMARY,
        {
            "defaults": json.dumps(rules),
            "default_days": DEFAULT_RULES.default_days,
            "until": until or datetime.now(UTC),
            "unknown": UNKNOWN_COUNTY,
        },
    ).mappings()
    return [
        {
            **row,
            "coverage_rate": _rate(row["up_to_date"], row["households"]),
            "closure_rate": _rate(row["resolved"], row["demands"]),
        }
        for row in rows
    ]
