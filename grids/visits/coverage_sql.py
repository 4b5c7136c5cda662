"""The coverage statements: one per-household status rule and the reports on it.

``STATUS`` is the rule; the reports (per grid rolled up the tree, per cadre, per
household, uncovered) are built on it. Kept beside ``grids.visits.coverage``,
which binds and runs them.
"""

from __future__ import annotations

from sqlalchemy import TextClause, text

STATUSES = ("visited", "overdue", "never_visited", "unassigned")

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
        FROM households h
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
# household_id, visited_at) probed per household: for a small part of it, a grid's
# subtree or a cadre's households (301 of 100 000: 250 -> 20 ms, the aggregate read
# all 140 000 visits). ``coverage.probed`` chooses (PROBE_SHARE).
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
STATUS = _STATUS_TEMPLATE.format(lv=_EVERY_VISIT[0], lv_join=_EVERY_VISIT[1])
STATUS_PROBED = _STATUS_TEMPLATE.format(lv=_PROBED[0], lv_join=_PROBED[1])


def status_statements(tail: str) -> dict[bool, TextClause]:
    """``tail`` after the status CTE: reading every visit (False), probing (True)."""
    return {False: text(STATUS + tail), True: text(STATUS_PROBED + tail)}


# The share of the township's grids a statement sees (within :path, and as far as
# the caller's policies let it: a grid leader's subtree, a cadre's grids) below
# which its households are probed. Grids stand for households (a grid has a
# cadre's dozen to a few hundred). At 100 000 households (bench/rls.py, a grid
# leader of a 54 % domain and the admin asking for it): probed 230 ms, and 345 ms
# under the leader's policies (every visit row tested); read whole 215 and 262 ms.
# A 300-household grid: probed 15 ms, read whole 56 ms.
PROBE_SHARE = 0.4
SEEN_SHARE = text(
    """
    SELECT CASE WHEN s.total = 0 THEN 1.0  -- no grids: the whole township
                ELSE CAST(s.seen AS float8) / s.total END
    FROM (SELECT count(*) AS seen, gridgis_township_grids(:t) AS total
          FROM grids g
          WHERE g.township_code = :t
            AND (CAST(:path AS text) IS NULL OR g.path LIKE :path || '%')) s
    """
)


TALLY = """
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
        SELECT st.grid_id, {TALLY} FROM st GROUP BY st.grid_id
    )
"""

# The same, and households per status and priority households for the whole (the
# map's legend when its households come from tiles; with :unassigned_inside the
# unassigned ones inside the subtree's polygon too). Grouped by status first, so
# each household's status is worked out once, not once per status counted (each
# time with its interval from the rules: +0.9 s at 100 000 households).
_PER_GRID_STATUSES = f"""
    , per_status AS (
        SELECT st.grid_id, st.status, {TALLY},
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
        LEFT JOIN (
            -- each grid's tallies counted for it and every ancestor: the ids
            -- in its path (matching each grid's path against every other's
            -- was 343 x 343 LIKEs, ~100 ms at 343 grids)
            SELECT CAST(a.id AS bigint) AS grid_id,
                   q.households, q.visited, q.up_to_date
            FROM per_grid q
            JOIN grids sub ON sub.township_code = :t AND sub.id = q.grid_id
            CROSS JOIN LATERAL unnest(string_to_array(btrim(sub.path, '/'), '/'))
                AS a(id)
            WHERE a.id ~ '^[0-9]{{1,18}}$'  -- a damaged path is not a 500
        ) p ON p.grid_id = g.id
        WHERE g.township_code = :t
          AND (CAST(:path AS text) IS NULL OR g.path LIKE :path || '%')
        GROUP BY g.township_code, g.id
        ORDER BY path
        """
    )


BY_GRID = _by_grid(_PER_GRID)
BY_GRID_STATUSES = _by_grid(
    _PER_GRID_STATUSES, ", " + _STATUS_SUMS, ", " + _NO_STATUS_SUMS
)

BY_CADRE = status_statements(
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
    SELECT NULL::bigint AS id, NULL AS code, NULL AS name, {TALLY},
           NULL::bigint AS visits, NULL::bigint AS far_visits
    FROM st
    UNION ALL
    SELECT c.id, c.code, c.name, {TALLY},
           COALESCE(max(made.visits), 0), COALESCE(max(made.far_visits), 0)
    FROM cadres c
    LEFT JOIN st ON st.cadre_id = c.id
    LEFT JOIN made ON made.cadre_id = c.id
    WHERE c.township_code = :t AND (CAST(:cadre AS text) IS NULL OR c.code = :cadre)
    GROUP BY c.township_code, c.id
    ORDER BY code NULLS FIRST
    """
)

HOUSEHOLD_STATUS = status_statements(
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

UNCOVERED = status_statements(
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
