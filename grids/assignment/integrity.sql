-- name: households
-- Each household against the grids as drawn now (not the stored grid_id): how
-- many grids cover it, how many siblings hold it in their interior or on a
-- shared border, and the grid the assignment rule picks.
WITH cover AS (
    SELECT h.id, h.code, h.grid_id,
           (SELECT count(*) FROM grids g
             WHERE g.township_code = :t AND ST_Covers(g.geom, h.geom)) AS covering,
           (SELECT max(n) FROM (
               SELECT count(*) AS n FROM grids g
                WHERE g.township_code = :t AND ST_Contains(g.geom, h.geom)
                GROUP BY g.parent_id) s) AS max_sibling_interior,
           (SELECT max(n) FROM (
               SELECT count(*) AS n FROM grids g
                WHERE g.township_code = :t AND ST_Covers(g.geom, h.geom)
                GROUP BY g.parent_id) s) AS max_sibling_cover,
           {{covering_grid:h}} AS rule_grid_id
    FROM households_assigned h
    WHERE h.township_code = :t
)
SELECT code,
       CASE WHEN covering = 0 THEN 'outside_every_grid'
            WHEN max_sibling_interior > 1 THEN 'in_sibling_overlap'
            WHEN max_sibling_cover > 1 THEN 'on_shared_border'
            END AS fault,
       grid_id IS DISTINCT FROM rule_grid_id AS stale_grid
FROM cover
WHERE covering = 0 OR max_sibling_cover > 1 OR grid_id IS DISTINCT FROM rule_grid_id
ORDER BY code;

-- name: unassigned_counts
SELECT CASE WHEN h.grid_id IS NULL THEN 'outside_every_grid'
            WHEN NOT EXISTS (
                SELECT 1 FROM cadres c
                WHERE c.township_code = :t AND c.home_grid_id = h.grid_id AND c.active)
            THEN 'grid_has_no_cadre'
            ELSE 'capacity_exhausted' END AS reason,
       count(*)::int AS n
FROM households_assigned h
WHERE h.township_code = :t AND h.cadre_id IS NULL
GROUP BY 1 ORDER BY 1;

-- name: cadres_outside_home
-- Cadres with households that do not lie in the cadre's home grid (pins kept
-- after a redraw, a household moved, a cadre moved to another grid).
SELECT c.id AS cadre_id, c.code, c.name, home.code AS home_grid,
       count(*)::int AS households_outside,
       (array_agg(h.code ORDER BY h.code))[1:20] AS household_codes
FROM cadres c
JOIN households_assigned h ON h.township_code = c.township_code AND h.cadre_id = c.id
LEFT JOIN grids home ON home.township_code = c.township_code AND home.id = c.home_grid_id
WHERE c.township_code = :t
  AND (home.id IS NULL OR NOT ST_Covers(home.geom, h.geom))
GROUP BY c.township_code, c.id, c.name, home.code
ORDER BY c.code;
