-- Interim household status rule for the maps (one place; the lead replaces it with
-- the coverage rules of grids/coverage.py when that lands):
--   unassigned    : grid_id IS NULL
--   never_visited : assigned, no visit at or before :as_of
--   overdue       : last visit older than :overdue_days (90), or :fragile_overdue_days
--                   (30) for households tagged with one of :fragile_tags
--                   (脱贫不稳定户, 边缘易致贫户, 突发严重困难户)
--   visited       : otherwise
-- priority is true for households carrying any of grids.models.PRIORITY_TAGS.
-- :grid_path (nullable) limits to a grid's subtree: households assigned inside it,
-- and unassigned households lying inside the subtree's root polygon.
SELECT h.id, h.code, h.head_name, h.members, h.village, h.tags, h.phone,
       h.grid_id, h.cadre_id, c.name AS cadre_name,
       ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat,
       lv.last_visit,
       CASE
         WHEN h.grid_id IS NULL THEN 'unassigned'
         WHEN lv.last_visit IS NULL THEN 'never_visited'
         WHEN lv.last_visit < CAST(:as_of AS timestamptz) - make_interval(days =>
              CASE WHEN h.tags && CAST(:fragile_tags AS varchar[])
                   THEN CAST(:fragile_overdue_days AS int)
                   ELSE CAST(:overdue_days AS int) END) THEN 'overdue'
         ELSE 'visited'
       END AS status,
       h.tags && CAST(:priority_tags AS varchar[]) AS priority
FROM households h
LEFT JOIN (
  SELECT v.household_id, max(v.visited_at) AS last_visit
  FROM visits v
  WHERE v.township_code = :t AND v.visited_at <= CAST(:as_of AS timestamptz)
  GROUP BY v.household_id
) lv ON lv.household_id = h.id
LEFT JOIN cadres c ON c.township_code = h.township_code AND c.id = h.cadre_id
LEFT JOIN grids hg ON hg.township_code = h.township_code AND hg.id = h.grid_id
LEFT JOIN grids root ON root.township_code = h.township_code
                    AND root.path = CAST(:grid_path AS text)
WHERE h.township_code = :t
  AND (CAST(:grid_path AS text) IS NULL
       OR hg.path LIKE CAST(:grid_path AS text) || '%'
       OR (h.grid_id IS NULL AND ST_Intersects(h.geom, root.geom)))
