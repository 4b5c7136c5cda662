-- Rectification statistics: statements of layers/hazards/stats.py.

-- name: stats
-- Per grid subtree (a hazard counts in its own grid and every ancestor, by the
-- materialised path) and one township row (grid NULL, hazards outside every grid
-- too). Days to close are from found_at to closed_at.
WITH z AS (
  SELECT z.status, g.path, z.deadline,
         EXTRACT(EPOCH FROM (z.closed_at - z.found_at)) / 86400.0 AS days_to_close
  FROM hazards z
  LEFT JOIN grids g ON g.township_code = z.township_code AND g.id = z.grid_id
  WHERE z.township_code = :t
    AND (CAST(:kind AS text) IS NULL OR z.kind = CAST(:kind AS text))
), per_grid AS (
  SELECT g.code AS grid, g.name, g.level, g.depth, g.path AS sort_path,
         count(z.status) AS total,
         count(*) FILTER (WHERE z.status = 'found') AS found,
         count(*) FILTER (WHERE z.status = 'rectifying') AS rectifying,
         count(*) FILTER (WHERE z.status = 'closed') AS closed,
         count(*) FILTER (WHERE z.status <> 'closed'
                            AND z.deadline < CAST(:today AS date)) AS overdue,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY z.days_to_close)
           FILTER (WHERE z.status = 'closed' AND z.days_to_close IS NOT NULL)
           AS median_days_to_close
  FROM grids g
  LEFT JOIN z ON z.path LIKE g.path || '%'
  WHERE g.township_code = :t
    AND (CAST(:grid_path AS text) IS NULL OR g.path LIKE CAST(:grid_path AS text) || '%')
  GROUP BY g.id, g.code, g.name, g.level, g.depth, g.path
), township AS (
  SELECT NULL::text AS grid, t.name, NULL::text AS level, NULL::int AS depth,
         '' AS sort_path,
         count(z.status) AS total,
         count(*) FILTER (WHERE z.status = 'found') AS found,
         count(*) FILTER (WHERE z.status = 'rectifying') AS rectifying,
         count(*) FILTER (WHERE z.status = 'closed') AS closed,
         count(*) FILTER (WHERE z.status <> 'closed'
                            AND z.deadline < CAST(:today AS date)) AS overdue,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY z.days_to_close)
           FILTER (WHERE z.status = 'closed' AND z.days_to_close IS NOT NULL)
           AS median_days_to_close
  FROM townships t LEFT JOIN z ON true
  WHERE t.code = :t AND CAST(:grid_path AS text) IS NULL
  GROUP BY t.name
)
SELECT * FROM township
UNION ALL
SELECT * FROM per_grid
ORDER BY depth NULLS FIRST, grid;
