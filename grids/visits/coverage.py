"""Visit coverage under frequency rules: per grid (rolled up), per cadre, uncovered.

A household's interval is the shortest of the rules of its tags and the rule for
everyone (tag ``*``), e.g. the three poverty-return monitoring classes monthly,
every household quarterly. As of a moment it is *up to date* when its last visit is
no older than its interval, *overdue* by the excess otherwise, and *never visited*
without any visit. Every figure comes from one statement over all households.
``household_statuses`` gives the same rule per household (the maps colour by it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from gis_service.core.db import atomic
from gis_service.core.errors import InvalidInput
from gis_service.core.inputs import as_utc
from gis_service.core.pages import Page, page_of
from grids.models import HOUSEHOLD_TAGS, PRIORITY_TAGS
from grids.tree.scope import grid_path
from grids.visits.log import FAR_FIX_M
from grids.visits.schemas import CoverageReport, CoverageRow, RuleSet, UncoveredOut

logger = logging.getLogger(__name__)

MONITORED = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
STATUSES = ("visited", "overdue", "never_visited", "unassigned")
DEFAULT_RULES = RuleSet(default_days=90, tags=dict.fromkeys(MONITORED, 30))

_LOAD_RULES = text(
    "SELECT tag, interval_days FROM visit_rules WHERE township_code = :t ORDER BY tag"
)
_DELETE_RULES = text("DELETE FROM visit_rules WHERE township_code = :t")
_INSERT_RULES = text(
    """
    INSERT INTO visit_rules (township_code, tag, interval_days)
    SELECT :t, r.tag, r.days
    FROM jsonb_to_recordset(CAST(:rules AS jsonb)) AS r(tag text, days int)
    """
)

# Per-household status as of :until (last visit, visits in [:since, :until), overdue
# days, status): THE one overdue rule, shared by the reports below and the maps
# (``household_statuses``). With :unassigned_inside a :path subtree also holds the
# unassigned households lying inside its root polygon (the map of a grid shows them).
_STATUS_TEMPLATE = """
    WITH rules AS (
        SELECT r.tag, r.days FROM jsonb_to_recordset(CAST(:rules AS jsonb))
                                  AS r(tag text, days int)
    ), hh AS (
        SELECT h.id, h.code, h.head_name, h.tags, h.grid_id, h.cadre_id, h.geom,
               LEAST(:default_days,
                     (SELECT min(r.days) FROM rules r WHERE r.tag = ANY(h.tags)))
                   AS interval_days
        FROM households_assigned h
        LEFT JOIN grids g ON g.township_code = h.township_code AND g.id = h.grid_id
        WHERE h.township_code = :t
          AND (CAST(:path AS text) IS NULL OR g.path LIKE :path || '%'
               OR (CAST(:unassigned_inside AS boolean) AND h.grid_id IS NULL
                   AND ST_Intersects(h.geom, (SELECT r.geom FROM grids r
                       WHERE r.township_code = :t AND r.path = :path))))
          AND (CAST(:cadre AS text) IS NULL OR h.cadre_id =
               (SELECT c.id FROM cadres c
                WHERE c.township_code = :t AND c.code = :cadre))
    ){lv}, od AS (
        SELECT hh.*, lv.last_visit, COALESCE(lv.in_period, 0) AS in_period,
               EXTRACT(epoch FROM CAST(:until AS timestamptz) - lv.last_visit
                                  - make_interval(days => hh.interval_days)) / 86400.0
                   AS overdue_days
        FROM hh {lv_join}
    ), st AS (
        SELECT od.*,
               -- no grid, or no responsible cadre (grid has none / capacity out)
               CASE WHEN od.grid_id IS NULL OR od.cadre_id IS NULL THEN 'unassigned'
                    WHEN od.last_visit IS NULL THEN 'never_visited'
                    WHEN od.overdue_days > 0 THEN 'overdue'
                    ELSE 'visited' END AS status
        FROM od
    )
"""

# How each household's last visit (before :until) and visits since :since are read.
# Every visit of the township aggregated once, hashed: for a whole township (at
# 100 000 households a probe per household is slower). The index (township_code,
# household_id, visited_at) probed per household: for a grid's subtree or a cadre's
# households (301 of 100 000: 250 -> 20 ms, the aggregate read all 140 000 visits).
_EVERY_VISIT = (
    """, lv AS (
        SELECT v.household_id, max(v.visited_at) AS last_visit,
               count(*) FILTER (WHERE v.visited_at >= :since) AS in_period
        FROM visits v
        WHERE v.township_code = :t AND v.visited_at < :until
        GROUP BY v.household_id
    )""",
    "LEFT JOIN lv ON lv.household_id = hh.id",
)
_PROBED = (
    "",
    """LEFT JOIN LATERAL (
            SELECT max(v.visited_at) AS last_visit,
                   count(*) FILTER (WHERE v.visited_at >= :since) AS in_period
            FROM visits v
            WHERE v.township_code = :t AND v.household_id = hh.id
              AND v.visited_at < :until
        ) lv ON true""",
)
_STATUS = _STATUS_TEMPLATE.format(lv=_EVERY_VISIT[0], lv_join=_EVERY_VISIT[1])
_STATUS_PROBED = _STATUS_TEMPLATE.format(lv=_PROBED[0], lv_join=_PROBED[1])


def status_statements(tail: str) -> dict[bool, TextClause]:
    """``tail`` after the status CTE: reading every visit (False), probing (True)."""
    return {False: text(_STATUS + tail), True: text(_STATUS_PROBED + tail)}


def probed(params: dict[str, Any]) -> bool:
    """Whether a statement's households are a subset (a grid's subtree, a cadre's)."""
    return params["path"] is not None or params["cadre"] is not None


_TALLY = """
    count(st.id) AS households,
    count(*) FILTER (WHERE st.in_period > 0) AS visited,
    count(*) FILTER (WHERE st.overdue_days <= 0) AS up_to_date
"""


def _rollup(only: str = "true") -> str:
    """The tallies of per_grid rows ``p`` summed (those where ``only`` holds)."""
    return ", ".join(
        f"CAST(COALESCE(sum(p.{k}) FILTER (WHERE {only}), 0) AS bigint) AS {k}"
        for k in ("households", "visited", "up_to_date")
    )


# Tallied per grid in one pass over the households, then rolled up the tree (a
# subtree's sums are the counts over its households). Read once, st is not
# materialised with every household's columns, nor joined once per ancestor:
# 600 -> 280 ms at 100 000 households, 343 grids. The first row is the whole (the
# township or the :path subtree, its assigned households).
_PER_GRID = f"""
    , per_grid AS (
        SELECT st.grid_id, {_TALLY} FROM st GROUP BY st.grid_id
    )
"""

# The same, and households per status and priority households for the whole (the
# map's legend when its households come from tiles; with :unassigned_inside the
# unassigned ones inside the subtree's polygon too). Grouped by status first, so
# each household's status is worked out once, not once per status counted (each
# time with its interval from the rules: +0.9 s at 100 000 households).
_PER_GRID_STATUSES = f"""
    , per_status AS (
        SELECT st.grid_id, st.status, {_TALLY},
               count(*) FILTER (WHERE st.tags && CAST(:priority_tags AS varchar[]))
                 AS n_priority
        FROM st GROUP BY st.grid_id, st.status
    ), per_grid AS (
        SELECT p.grid_id, sum(p.households) AS households,
               sum(p.visited) AS visited, sum(p.up_to_date) AS up_to_date,
               {
    ", ".join(
        f"sum(p.households) FILTER (WHERE p.status = '{s}') AS n_{s}" for s in STATUSES
    )
},
               sum(p.n_priority) AS n_priority
        FROM per_status p GROUP BY p.grid_id
    )
"""
_STATUS_SUMS = ", ".join(
    f"CAST(COALESCE(sum(p.n_{k}), 0) AS bigint) AS n_{k}"
    for k in (*STATUSES, "priority")
)
_NO_STATUS_SUMS = ", ".join("NULL::bigint" for _ in (*STATUSES, "priority"))


def _by_grid(per_grid: str, whole: str = "", grids: str = "") -> dict[bool, TextClause]:
    """The whole's row, then each grid's subtree rolled up from ``per_grid``."""
    return status_statements(
        f"""
        {per_grid}
        SELECT NULL::bigint AS id, NULL AS code, NULL AS name, NULL AS level,
               NULL::int AS depth, '' AS path,
               {_rollup("CAST(:path AS text) IS NULL OR p.grid_id IS NOT NULL")}
               {whole}
        FROM per_grid p
        UNION ALL
        SELECT g.id, g.code, g.name, g.level, g.depth, g.path, {_rollup()} {grids}
        FROM grids g
        LEFT JOIN grids sub ON sub.township_code = g.township_code
                           AND sub.path LIKE g.path || '%'
        LEFT JOIN per_grid p ON p.grid_id = sub.id
        WHERE g.township_code = :t
          AND (CAST(:path AS text) IS NULL OR g.path LIKE :path || '%')
        GROUP BY g.township_code, g.id
        ORDER BY path
        """
    )


_BY_GRID = _by_grid(_PER_GRID)
_BY_GRID_STATUSES = _by_grid(
    _PER_GRID_STATUSES, ", " + _STATUS_SUMS, ", " + _NO_STATUS_SUMS
)

_BY_CADRE = status_statements(
    f"""
    , made AS (
        SELECT v.cadre_id, count(*) AS visits,
               count(*) FILTER (WHERE v.fix IS NOT NULL AND NOT ST_DWithin(
                   v.fix::geography, h.geom::geography, :far_m)) AS far_visits
        FROM visits v
        JOIN households h ON h.township_code = v.township_code AND h.id = v.household_id
        WHERE v.township_code = :t AND v.visited_at >= :since AND v.visited_at < :until
        GROUP BY v.cadre_id
    )
    SELECT NULL::bigint AS id, NULL AS code, NULL AS name, {_TALLY},
           NULL::bigint AS visits, NULL::bigint AS far_visits
    FROM st
    UNION ALL
    SELECT c.id, c.code, c.name, {_TALLY},
           COALESCE(max(made.visits), 0), COALESCE(max(made.far_visits), 0)
    FROM cadres c
    LEFT JOIN st ON st.cadre_id = c.id
    LEFT JOIN made ON made.cadre_id = c.id
    WHERE c.township_code = :t AND (CAST(:cadre AS text) IS NULL OR c.code = :cadre)
    GROUP BY c.township_code, c.id
    ORDER BY code NULLS FIRST
    """
)

_HOUSEHOLD_STATUS = status_statements(
    """
    SELECT st.id, st.code, st.head_name, h.members, h.village, st.tags, h.phone,
           st.grid_id, st.cadre_id, c.code AS cadre, c.name AS cadre_name,
           ST_X(st.geom) AS lon, ST_Y(st.geom) AS lat, st.interval_days,
           st.last_visit, st.overdue_days, st.status,
           st.tags && CAST(:priority_tags AS varchar[]) AS priority
    FROM st
    JOIN households h ON h.township_code = :t AND h.id = st.id
    LEFT JOIN cadres c ON c.township_code = :t AND c.id = st.cadre_id
    ORDER BY st.code
    """
)

_UNCOVERED = status_statements(
    """
    SELECT st.id AS household_id, st.code AS household, st.head_name, st.tags,
           st.grid_id, st.cadre_id, c.code AS cadre, c.name AS cadre_name,
           st.interval_days, st.last_visit, st.overdue_days,
           ST_Distance(st.geom::geography, c.base::geography) AS distance_to_base_m,
           ST_X(st.geom) AS lon, ST_Y(st.geom) AS lat,
           count(*) OVER () AS matched
    FROM st
    LEFT JOIN cadres c ON c.township_code = :t AND c.id = st.cadre_id
    WHERE st.last_visit IS NULL OR st.overdue_days > 0
    ORDER BY st.overdue_days DESC NULLS FIRST, st.interval_days, st.code
    LIMIT :limit OFFSET :offset
    """
)


def load_rules(session: Session, *, township: str) -> RuleSet:
    """The township's rules, or the defaults (monitored classes 30 d, everyone 90 d)."""
    rows = session.execute(_LOAD_RULES, {"t": township}).all()
    if not rows:
        return DEFAULT_RULES
    tags = {r.tag: int(r.interval_days) for r in rows if r.tag != "*"}
    everyone = next((int(r.interval_days) for r in rows if r.tag == "*"), None)
    return RuleSet(default_days=everyone or DEFAULT_RULES.default_days, tags=tags)


def set_rules(session: Session, *, township: str, rules: RuleSet) -> RuleSet:
    """Replace the township's rules (tags must be known household tags)."""
    unknown = sorted(set(rules.tags) - set(HOUSEHOLD_TAGS))
    if unknown:
        raise InvalidInput(
            f"unknown household tags: {', '.join(unknown)}",
            errors=[{"field": f"tags.{t}", "reason": "unknown tag"} for t in unknown],
        )
    payload = [{"tag": "*", "days": rules.default_days}] + [
        {"tag": tag, "days": days} for tag, days in rules.tags.items()
    ]
    with atomic(session):
        session.execute(_DELETE_RULES, {"t": township})
        session.execute(
            _INSERT_RULES,
            {"t": township, "rules": json.dumps(payload, ensure_ascii=False)},
        )
    return load_rules(session, township=township)


def _params(
    session: Session,
    *,
    township: str,
    since: datetime | None,
    until: datetime | None,
    grid: str | None,
    cadre: str | None,
    rules: RuleSet | None,
) -> tuple[dict[str, Any], RuleSet]:
    rules = rules or load_rules(session, township=township)
    until = as_utc(until) if until else datetime.now(UTC)
    since = as_utc(since) if since else until - timedelta(days=rules.default_days)
    if since >= until:
        raise InvalidInput(
            f"since {since.isoformat()} must be before until {until.isoformat()}",
            errors=[{"field": "since", "reason": "not before until"}],
        )
    params = {
        "t": township,
        "since": since,
        "until": until,
        "path": grid_path(session, township=township, grid=grid) if grid else None,
        "cadre": cadre,
        "unassigned_inside": False,
        "default_days": rules.default_days,
        "rules": json.dumps(
            [{"tag": k, "days": v} for k, v in rules.tags.items()], ensure_ascii=False
        ),
    }
    return params, rules


def _as_of_params(
    session: Session,
    *,
    township: str,
    as_of: datetime | None,
    grid: str | None,
    cadre: str | None,
    rules: RuleSet | None,
) -> dict[str, Any]:
    """Parameters for a status as of a moment (default now), not a period."""
    until = as_utc(as_of) if as_of else datetime.now(UTC)
    params, _ = _params(
        session, township=township, since=until - timedelta(seconds=1), until=until,
        grid=grid, cadre=cadre, rules=rules,
    )  # fmt: skip
    return params


def _row(r: Any) -> CoverageRow:
    households = int(r["households"])

    def share(n: int) -> float | None:
        return n / households if households else None

    return CoverageRow(
        **{k: r[k] for k in ("id", "code", "name") if k in r},
        level=r.get("level"),
        depth=r.get("depth"),
        households=households,
        visited=r["visited"],
        visited_share=share(int(r["visited"])),
        up_to_date=r["up_to_date"],
        up_to_date_share=share(int(r["up_to_date"])),
        due=households - int(r["up_to_date"]),
        visits=r.get("visits"),
        far_visits=r.get("far_visits"),
    )


def coverage_by_grid(
    session: Session,
    *,
    township: str,
    since: datetime | None = None,
    until: datetime | None = None,
    grid: str | None = None,
    rules: RuleSet | None = None,
) -> CoverageReport:
    """Share of households visited in the period and up to date, per grid subtree."""
    params, used = _params(
        session, township=township, since=since, until=until, grid=grid, cadre=None,
        rules=rules,
    )  # fmt: skip
    return _report(session, _BY_GRID[probed(params)], params, used)


def coverage_with_statuses(
    session: Session,
    *,
    township: str,
    since: datetime | None = None,
    until: datetime | None = None,
    grid: str | None = None,
) -> tuple[CoverageReport, dict[str, Any]]:
    """``coverage_by_grid`` and, from the same pass, households per status.

    The status counts (``status_tally``'s: as of ``until``, with a ``grid``'s
    subtree the unassigned households inside its polygon too, as its map draws
    them) without a second pass over the households: ``statuses`` (those present)
    and ``priority``.
    """
    params, used = _params(
        session, township=township, since=since, until=until, grid=grid, cadre=None,
        rules=None,
    )  # fmt: skip
    params.update(unassigned_inside=True, priority_tags=list(PRIORITY_TAGS))
    statement = _BY_GRID_STATUSES[probed(params)]
    rows = session.execute(statement, params).mappings().all()
    whole = rows[0]
    statuses = {s: int(whole[f"n_{s}"]) for s in STATUSES if whole[f"n_{s}"]}
    tally = {"statuses": statuses, "priority": int(whole["n_priority"])}
    return _report_of(rows, params, used), tally


def coverage_by_cadre(
    session: Session,
    *,
    township: str,
    since: datetime | None = None,
    until: datetime | None = None,
    cadre: str | None = None,
    rules: RuleSet | None = None,
    far_m: float = FAR_FIX_M,
) -> CoverageReport:
    """Coverage of each cadre's households, with visits made and far GPS fixes."""
    params, used = _params(
        session, township=township, since=since, until=until, grid=None, cadre=cadre,
        rules=rules,
    )  # fmt: skip
    params["far_m"] = far_m
    return _report(session, _BY_CADRE[probed(params)], params, used)


def _report(
    session: Session, query: TextClause, params: dict[str, Any], used: RuleSet
) -> CoverageReport:
    """Run a coverage query: its first row is the township total, then the rows."""
    return _report_of(session.execute(query, params).mappings().all(), params, used)


def _report_of(
    found: Sequence[Any], params: dict[str, Any], used: RuleSet
) -> CoverageReport:
    rows = [_row(r) for r in found]
    return CoverageReport(
        since=params["since"], until=params["until"], rules=used,
        township=rows[0], rows=rows[1:],
    )  # fmt: skip


def household_statuses(
    session: Session,
    *,
    township: str,
    as_of: datetime | None = None,
    grid: str | None = None,
    cadre: str | None = None,
    rules: RuleSet | None = None,
    unassigned_inside: bool = False,
) -> list[dict[str, Any]]:
    """Each household's status as of ``as_of`` under the rules, for maps and routes.

    Rows: household columns (personal data NOT masked: mask on output), cadre code
    and name, lon/lat, interval_days, last_visit, overdue_days and ``status``:
    unassigned | never_visited | overdue | visited (up to date), and ``priority``
    (any of PRIORITY_TAGS). ``unassigned_inside`` adds, for a ``grid``, the
    unassigned households inside its polygon.
    """
    params = _as_of_params(
        session, township=township, as_of=as_of, grid=grid, cadre=cadre, rules=rules
    )
    params.update(
        unassigned_inside=unassigned_inside, priority_tags=list(PRIORITY_TAGS)
    )
    statement = _HOUSEHOLD_STATUS[probed(params)]
    return [dict(r) for r in session.execute(statement, params).mappings()]


def uncovered_households(
    session: Session,
    *,
    township: str,
    as_of: datetime | None = None,
    grid: str | None = None,
    cadre: str | None = None,
    rules: RuleSet | None = None,
    limit: int = 100,
    offset: int = 0,
    url: str | None = None,
) -> Page[UncoveredOut]:
    """Households never visited or overdue as of ``as_of``, most overdue first."""
    params = _as_of_params(
        session, township=township, as_of=as_of, grid=grid, cadre=cadre, rules=rules
    )
    params.update(limit=limit, offset=offset)
    rows = session.execute(_UNCOVERED[probed(params)], params).mappings().all()
    return page_of(
        rows, lambda r: UncoveredOut(**r), limit=limit, offset=offset, url=url
    )
