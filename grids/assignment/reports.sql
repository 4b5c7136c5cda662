-- name: grid_rollup
-- Per grid with everything below it (grids.path is the materialised ancestry):
-- own figures per grid first (small), then summed over each grid's subtree.
WITH own AS (
    SELECT h.grid_id, count(*) AS households, sum(h.members) AS people,
           count(h.cadre_id) AS assigned,
           count(*) FILTER (WHERE h.tags && CAST(:priority AS varchar[])) AS priority
    FROM households_assigned h
    WHERE h.township_code = :t AND h.grid_id IS NOT NULL
    GROUP BY h.grid_id
), own_tags AS (
    SELECT h.grid_id, tag, count(*) AS n
    FROM households_assigned h CROSS JOIN LATERAL unnest(h.tags) AS tag
    WHERE h.township_code = :t AND h.grid_id IS NOT NULL
    GROUP BY h.grid_id, tag
), own_cadres AS (
    SELECT c.home_grid_id AS grid_id, count(*) AS cadres, sum(c.capacity) AS capacity
    FROM cadres c
    WHERE c.township_code = :t AND c.active AND c.home_grid_id IS NOT NULL
    GROUP BY c.home_grid_id
), per_grid AS (
    SELECT g.id, g.path,
           COALESCE(o.households, 0) AS households, COALESCE(o.people, 0) AS people,
           COALESCE(o.assigned, 0) AS assigned, COALESCE(o.priority, 0) AS priority,
           COALESCE(c.cadres, 0) AS cadres, COALESCE(c.capacity, 0) AS capacity,
           GREATEST(COALESCE(o.households, 0) - COALESCE(c.capacity, 0), 0) AS uncovered
    FROM grids g
    LEFT JOIN own o ON o.grid_id = g.id
    LEFT JOIN own_cadres c ON c.grid_id = g.id
    WHERE g.township_code = :t
), tags_rolled AS (
    SELECT g.id, jsonb_object_agg(t.tag, t.n) AS tagged
    FROM grids g
    JOIN LATERAL (
        SELECT ot.tag, sum(ot.n)::int AS n
        FROM own_tags ot JOIN grids d ON d.id = ot.grid_id
        WHERE d.township_code = :t AND d.path LIKE g.path || '%'
        GROUP BY ot.tag) t ON true
    WHERE g.township_code = :t
    GROUP BY g.township_code, g.id
)
SELECT g.id AS grid_id, g.code, g.name, g.level, g.depth, p.code AS parent_code,
       sum(d.households)::int AS households, sum(d.people)::int AS people,
       sum(d.priority)::int AS priority_households,
       COALESCE(tr.tagged, '{}'::jsonb) AS tagged,
       sum(d.cadres)::int AS cadres, sum(d.capacity)::int AS capacity,
       sum(d.assigned)::int AS assigned,
       sum(d.uncovered)::int AS uncovered,
       sum(ceil(d.uncovered / CAST(:default_capacity AS numeric)))::int AS cadres_needed
FROM grids g
JOIN per_grid d ON d.path LIKE g.path || '%'
LEFT JOIN grids p ON p.township_code = g.township_code AND p.id = g.parent_id
LEFT JOIN tags_rolled tr ON tr.id = g.id
WHERE g.township_code = :t
GROUP BY g.township_code, g.id, p.code, tr.tagged
ORDER BY g.path;

-- name: cadre_loads
SELECT c.id AS cadre_id, c.code, c.name, g.code AS grid_code, c.capacity, c.active,
       count(h.id)::int AS load,
       count(h.id) FILTER (WHERE h.tags && CAST(:priority AS varchar[]))::int
           AS priority_load,
       count(h.id) FILTER (WHERE h.cadre_pinned)::int AS pinned,
       round(avg(ST_Distance(h.geom::geography, c.base::geography))::numeric, 1)::float8
           AS mean_distance_m
FROM cadres c
LEFT JOIN grids g ON g.township_code = c.township_code AND g.id = c.home_grid_id
LEFT JOIN households_assigned h ON h.township_code = c.township_code AND h.cadre_id = c.id
WHERE c.township_code = :t
GROUP BY c.township_code, c.id, g.code
ORDER BY g.code NULLS LAST, c.code;

-- name: unassigned
-- Households without a cadre and why; for those outside every grid the nearest
-- grid (exact distance among the 8 nearest by index; ties: deepest, lowest code),
-- looked up only for the page of rows returned.
SELECT u.id, u.code, u.village, u.grid, u.reason,
       n.code AS nearest_grid, round(n.distance_m::numeric, 1)::float8 AS distance_m,
       ST_AsGeoJSON(u.geom, 7) AS geometry, u.matched
FROM (
    SELECT *, count(*) OVER () AS matched FROM (
        SELECT h.id, h.code, h.village, h.geom, h.grid_id, g.code AS grid,
               CASE WHEN h.grid_id IS NULL THEN 'outside_every_grid'
                    WHEN NOT EXISTS (
                        SELECT 1 FROM cadres c
                        WHERE c.township_code = :t AND c.home_grid_id = h.grid_id
                          AND c.active)
                    THEN 'grid_has_no_cadre'
                    ELSE 'capacity_exhausted' END AS reason
        FROM households_assigned h
        LEFT JOIN grids g ON g.township_code = h.township_code AND g.id = h.grid_id
        WHERE h.township_code = :t AND h.cadre_id IS NULL
          AND (CAST(:ids AS bigint[]) IS NULL OR h.id = ANY(CAST(:ids AS bigint[])))
          -- pushed down so that asking for the households outside skips the rest
          AND (CAST(:reason AS text) IS NULL
               OR (CAST(:reason AS text) = 'outside_every_grid') = (h.grid_id IS NULL))
    ) r
    WHERE CAST(:reason AS text) IS NULL OR r.reason = CAST(:reason AS text)
    ORDER BY r.code
    LIMIT :limit OFFSET :offset
) u
LEFT JOIN LATERAL (
    SELECT near.code,
           ST_Distance(near.geom::geography, u.geom::geography) AS distance_m
    FROM (SELECT x.code, x.depth, x.geom FROM grids x
          WHERE x.township_code = :t AND u.grid_id IS NULL
          ORDER BY x.geom <-> u.geom LIMIT 8) near
    ORDER BY 2, {{grid_order:near}} LIMIT 1) n ON true
ORDER BY u.code;
