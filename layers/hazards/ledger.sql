-- The hazard ledger (排查–整改–销号): statements of layers/hazards/ledger.py.
-- :kinds/:radii are the per-kind default warn radii and :sevs/:days the re-check
-- intervals by severity, both from settings.hazards.

-- name: hazards
-- One page of hazards with their grid, the leaf grids they touch and the
-- responsible cadre: the one set on the hazard, else the active cadres homed in
-- its grid's subtree (grid leaders first, then the nearest), else the township's
-- nearest active grid leader, else its nearest active cadre.
-- `page` applies every filter but the cadre's, counts the matches (the window runs
-- before LIMIT) and, when no cadre filter is given, keeps only the rows up to the
-- page's end, so the responsible cadre is picked for those alone (at 4 883
-- hazards picking it for every row took 9 s); a cadre filter needs the pick of
-- every row (LIMIT NULL is no limit).
WITH radii AS (
  SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:radii AS float8[]))
         AS r(kind, radius_m)
), rules AS (
  SELECT * FROM unnest(CAST(:sevs AS text[]), CAST(:days AS int[])) AS r(severity, days)
), page AS (
  SELECT z.id, z.code, z.township_code, z.cadre_id, z.grid_id, z.geom,
         COALESCE(z.warn_radius_m, radii.radius_m) AS radius_m,
         COALESCE(z.last_checked_at, z.found_at)
           + make_interval(days => rules.days) AS next_check_at,
         count(*) OVER () AS matched
  FROM hazards z
  LEFT JOIN radii ON radii.kind = z.kind
  LEFT JOIN rules ON rules.severity = z.severity
  WHERE z.township_code = :t
    AND (CAST(:code AS text) IS NULL OR z.code = CAST(:code AS text))
    AND (CAST(:status AS text) IS NULL OR z.status = CAST(:status AS text))
    AND (NOT :open_only OR z.status <> 'closed')
    AND (CAST(:kind AS text) IS NULL OR z.kind = CAST(:kind AS text))
    AND (CAST(:severity AS text) IS NULL OR z.severity = CAST(:severity AS text))
    AND (CAST(:grid_path AS text) IS NULL OR EXISTS (
          SELECT 1 FROM grids sg
          WHERE sg.township_code = z.township_code
            AND sg.path LIKE CAST(:grid_path AS text) || '%'
            AND ST_Intersects(sg.geom, z.geom)))
    AND (NOT :overdue OR (z.status <> 'closed' AND z.deadline < CAST(:today AS date)))
    AND (CAST(:due_by AS timestamptz) IS NULL OR (z.status <> 'closed'
         AND COALESCE(z.last_checked_at, z.found_at) + make_interval(days => rules.days)
             <= CAST(:due_by AS timestamptz)))
  ORDER BY CASE WHEN :order_due THEN COALESCE(z.last_checked_at, z.found_at)
                + make_interval(days => rules.days) END,
           z.code
  LIMIT CASE WHEN CAST(:cadre AS text) IS NULL THEN :limit + :offset END
), picked AS (
  SELECT z.id, g.code AS grid_code, g.name AS grid_name, g.path AS grid_path,
         rc.id AS cadre_id, rc.code AS cadre_code, rc.name AS cadre_name,
         rc.phone AS cadre_phone, rc.assigned AS cadre_assigned,
         z.radius_m, z.next_check_at,
         CASE WHEN CAST(:cadre AS text) IS NULL THEN z.matched
              ELSE count(*) OVER () END AS total
  FROM page z
  LEFT JOIN grids g ON g.township_code = z.township_code AND g.id = z.grid_id
  -- COALESCE evaluates a tier only when the ones before it found nobody, so the
  -- township-wide nearest-cadre search runs only for a hazard with no cadre of
  -- its own, none homed in its grid's subtree and no active grid leader.
  LEFT JOIN LATERAL (
    SELECT COALESCE(
      z.cadre_id,
      (SELECT c.id FROM cadres c
       JOIN grids hg ON hg.township_code = c.township_code AND hg.id = c.home_grid_id
       WHERE c.township_code = z.township_code AND c.active
         AND hg.path LIKE g.path || '%'
       ORDER BY c.role = 'grid_leader' DESC,
                ST_Distance(c.base::geography, z.geom::geography) ASC NULLS LAST, c.code
       LIMIT 1),
      (SELECT c.id FROM cadres c
       WHERE c.township_code = z.township_code AND c.active AND c.role = 'grid_leader'
       ORDER BY ST_Distance(c.base::geography, z.geom::geography) ASC NULLS LAST, c.code
       LIMIT 1),
      (SELECT c.id FROM cadres c
       WHERE c.township_code = z.township_code AND c.active
       ORDER BY ST_Distance(c.base::geography, z.geom::geography) ASC NULLS LAST, c.code
       LIMIT 1)) AS id
  ) pick ON true
  LEFT JOIN LATERAL (
    SELECT c.id, c.code, c.name, c.phone, c.id = z.cadre_id AS assigned
    FROM cadres c WHERE c.township_code = z.township_code AND c.id = pick.id
  ) rc ON true
  WHERE CAST(:cadre AS text) IS NULL OR rc.code = CAST(:cadre AS text)
  ORDER BY CASE WHEN :order_due THEN z.next_check_at END, z.code
  LIMIT :limit OFFSET :offset
)
SELECT p.total, z.id, z.code, z.kind, z.severity, z.status, z.description,
       z.warn_radius_m, p.radius_m, z.found_at, z.deadline, z.closed_at,
       z.last_checked_at, p.next_check_at, p.grid_code, p.grid_name,
       p.cadre_id, p.cadre_code, p.cadre_name, p.cadre_phone, p.cadre_assigned,
       z.status <> 'closed' AND z.deadline < CAST(:today AS date) AS overdue,
       CASE WHEN z.status <> 'closed' AND z.deadline < CAST(:today AS date)
            THEN CAST(:today AS date) - z.deadline END AS overdue_days,
       GeometryType(z.geom) AS geometry_type,
       ST_X(ST_PointOnSurface(z.geom)) AS lon, ST_Y(ST_PointOnSurface(z.geom)) AS lat,
       CASE WHEN :with_geometry THEN ST_AsGeoJSON(z.geom, 7) END AS geometry,
       ARRAY(SELECT lg.code FROM grids lg
             WHERE lg.township_code = z.township_code AND ST_Intersects(lg.geom, z.geom)
               AND NOT EXISTS (SELECT 1 FROM grids ch
                               WHERE ch.township_code = lg.township_code
                                 AND ch.parent_id = lg.id)
             ORDER BY lg.code) AS grids
FROM picked p JOIN hazards z ON z.township_code = :t AND z.id = p.id
ORDER BY CASE WHEN :order_due THEN p.next_check_at END, z.code;

-- name: lock
SELECT id, status FROM hazards WHERE township_code = :t AND code = :code FOR UPDATE;

-- name: move
-- One step: the status, closed_at on closing, and the step counts as a check.
WITH moved AS (
  UPDATE hazards
     SET status = :to_status, updated_at = now(), last_checked_at = now(),
         closed_at = CASE WHEN :to_status = 'closed' THEN now() ELSE closed_at END
   WHERE township_code = :t AND id = :id
  RETURNING id
)
INSERT INTO hazard_events (township_code, hazard_id, kind, from_status, to_status,
                           actor, note, attachments)
SELECT :t, id, :kind, :from_status, :to_status, :actor, :note,
       CAST(:attachments AS text[])
FROM moved;

-- name: events
SELECT kind, from_status, to_status, actor, note, attachments, at
FROM hazard_events
WHERE township_code = :t AND hazard_id = :id
ORDER BY at, id;
