-- Grids of the township (or of :grid_path's subtree) with their visit coverage:
-- households assigned anywhere below each grid, how many are 'visited' under the
-- status rule (household_status.sql, prefixed as the CTE "hs" by maps/queries.py).
per_leaf AS (
  SELECT grid_id, count(*) AS households,
         count(*) FILTER (WHERE status = 'visited') AS visited,
         count(*) FILTER (WHERE status = 'overdue') AS overdue,
         count(*) FILTER (WHERE status = 'never_visited') AS never_visited
  FROM hs WHERE grid_id IS NOT NULL GROUP BY grid_id
)
SELECT g.id, g.code, g.name, g.level, g.depth,
       NOT EXISTS (SELECT 1 FROM grids ch
                   WHERE ch.township_code = g.township_code AND ch.parent_id = g.id)
         AS is_leaf,
       COALESCE(sum(pl.households), 0)::int AS households,
       COALESCE(sum(pl.visited), 0)::int AS visited,
       COALESCE(sum(pl.overdue), 0)::int AS overdue,
       COALESCE(sum(pl.never_visited), 0)::int AS never_visited,
       ST_AsGeoJSON(g.geom, 7) AS geometry,
       ST_X(ST_PointOnSurface(g.geom)) AS label_lon,
       ST_Y(ST_PointOnSurface(g.geom)) AS label_lat
FROM grids g
LEFT JOIN grids d ON d.township_code = g.township_code AND d.path LIKE g.path || '%'
LEFT JOIN per_leaf pl ON pl.grid_id = d.id
WHERE g.township_code = :t
  AND (CAST(:grid_path AS text) IS NULL OR g.path LIKE CAST(:grid_path AS text) || '%')
GROUP BY g.id
ORDER BY g.depth, g.code
