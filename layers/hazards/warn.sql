-- Households to warn (转移避险): statements of layers/hazards/warn.py.

-- name: warn
-- ONE set-based statement. For each chosen hazard the households within its
-- radius: a degree box that surely holds the radius is tested against the bare
-- households.geom (its GIST index), then ST_DWithin/ST_Distance on geography
-- (spheroid) decide and measure, from a polygon's edge (0 inside). A household
-- near several hazards is listed once, under the nearest; priority households
-- first, then the nearest.
WITH radii AS (
  SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:radii AS float8[]))
         AS r(kind, radius_m)
), z AS (
  SELECT z.id, z.code, z.kind, z.severity, z.geom,
         COALESCE(CAST(:radius_m AS float8), z.warn_radius_m, radii.radius_m)
           AS radius_m
  FROM hazards z
  JOIN radii ON radii.kind = z.kind
  WHERE z.township_code = :t
    AND (CAST(:code AS text) IS NULL OR z.code = CAST(:code AS text))
    AND (CAST(:code AS text) IS NOT NULL OR z.status <> 'closed')
    AND (CAST(:kind AS text) IS NULL OR z.kind = CAST(:kind AS text))
    AND (CAST(:severity AS text) IS NULL OR z.severity = CAST(:severity AS text))
    AND (CAST(:minx AS float8) IS NULL
         OR z.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326))
    AND (CAST(:grid_path AS text) IS NULL OR EXISTS (
          SELECT 1 FROM grids sg
          WHERE sg.township_code = z.township_code
            AND sg.path LIKE CAST(:grid_path AS text) || '%'
            AND ST_Intersects(sg.geom, z.geom)))
), boxed AS (
  -- A degree of latitude is >= 110 574 m and of longitude >= 111 319 m * cos(lat)
  -- on WGS 84, so these half-widths (with 1 % to spare) cover the radius.
  SELECT z.*,
         ST_Expand(z.geom,
                   z.radius_m * 1.01 / (111319.0 * cos(radians(LEAST(89.0,
                     GREATEST(abs(ST_YMin(z.geom)), abs(ST_YMax(z.geom)))
                     + z.radius_m / 110574.0 + 0.01)))),
                   z.radius_m * 1.01 / 110574.0) AS box
  FROM z
), pairs AS (
  SELECT h.id AS household_id, b.code AS hazard, b.kind, b.radius_m,
         ST_Distance(h.geom::geography, b.geom::geography) AS distance_m
  FROM boxed b
  JOIN households h ON h.township_code = :t AND h.geom && b.box
  WHERE ST_DWithin(h.geom::geography, b.geom::geography, b.radius_m)
), per_household AS (
  SELECT DISTINCT ON (household_id) household_id, hazard, kind, radius_m, distance_m,
         array_agg(hazard) OVER (PARTITION BY household_id) AS hazards
  FROM pairs
  ORDER BY household_id, distance_m, hazard
), counted AS (
  SELECT hazard, count(*) AS n FROM pairs GROUP BY hazard
), listed AS (
  SELECT p.*, h.code, h.head_name, h.members, h.village, h.address, h.phone, h.tags,
         ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat,
         h.tags && CAST(:priority_tags AS varchar[]) AS priority,
         g.code AS grid, g.name AS grid_name,
         c.code AS cadre, c.name AS cadre_name, c.phone AS cadre_phone,
         count(*) OVER () AS total,
         count(*) FILTER (WHERE h.tags && CAST(:priority_tags AS varchar[])) OVER ()
           AS priority_total,
         sum(h.members) OVER () AS people
  FROM per_household p
  JOIN households h ON h.township_code = :t AND h.id = p.household_id
  LEFT JOIN household_assignments a ON a.township_code = :t
                                   AND a.household_id = h.id
  LEFT JOIN grids g ON g.township_code = :t AND g.id = a.grid_id
  LEFT JOIN cadres c ON c.township_code = :t AND c.id = a.cadre_id
  ORDER BY priority DESC, p.distance_m, h.code
  LIMIT :limit OFFSET :offset
)
SELECT 'household' AS row_kind, l.code, l.head_name, l.members, l.village, l.address,
       l.phone, l.tags, l.lon, l.lat, l.priority, l.distance_m, l.hazard, l.kind,
       l.radius_m, l.hazards, l.grid, l.grid_name, l.cadre, l.cadre_name,
       l.cadre_phone, l.total, l.priority_total, l.people, NULL AS severity,
       NULL::bigint AS n
FROM listed l
UNION ALL
SELECT 'hazard', z.code, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, z.kind, z.radius_m, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, z.severity, COALESCE(c.n, 0)
FROM z LEFT JOIN counted c ON c.hazard = z.code
ORDER BY 1 DESC, 11 DESC NULLS LAST, 12, 2;

-- name: shelters
-- The nearest shelter of each household, leaving out shelters inside the radius
-- of the hazard it is warned about (a shelter in the danger zone is no shelter).
SELECT h.code AS household, s.code, s.name, s.address, s.phone,
       ST_Distance(h.geom::geography, s.geom::geography) AS distance_m,
       degrees(ST_Azimuth(h.geom, s.geom)) AS bearing,
       ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat
FROM unnest(CAST(:households AS text[]), CAST(:hazards AS text[]),
            CAST(:radii AS float8[])) AS w(household, hazard, radius_m)
JOIN households h ON h.township_code = :t AND h.code = w.household
JOIN hazards z ON z.township_code = :t AND z.code = w.hazard
CROSS JOIN LATERAL (
  SELECT s.* FROM shelters s
  WHERE s.township_code = :t
    AND NOT ST_DWithin(s.geom::geography, z.geom::geography, w.radius_m)
  ORDER BY s.geom <-> h.geom
  LIMIT 1
) s;
