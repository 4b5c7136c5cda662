-- Households to warn (转移避险): statements of layers/hazards/warn.py.

-- name: warn
-- ONE set-based statement. For each chosen hazard the households within its
-- radius: a degree box that surely holds the radius is tested against the bare
-- households.geom (its GIST index), then ST_DWithin/ST_Distance on geography
-- (spheroid) decide and measure, from a polygon's edge (0 inside). A household
-- near several hazards is listed once, under the nearest; priority households
-- first, then the nearest. Shaped for speed (bench/warn_hazards.py): the
-- household's columns ride along from the index scan (no second lookup), one
-- sort picks the nearest hazard and gathers the others, the totals are one
-- aggregate carried by the hazard rows (no window over every household), and
-- the list keeps its order under the final ORDER BY (a Merge Append, not a
-- second sort). The caller turns JIT off: compiling this plan cost more than
-- running it (0.7-1.7 s of 2-4 s at 1 000 000 households).
WITH radii AS (
  SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:radii AS float8[]))
         AS r(kind, radius_m)
), z AS MATERIALIZED (
  SELECT z.code, z.kind, z.severity, z.geom, CAST(z.geom AS geography) AS zone,
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
), boxed AS MATERIALIZED (
  -- A degree of latitude is >= 110 574 m and of longitude >= 111 319 m * cos(lat)
  -- on WGS 84, so these half-widths (with 1 % to spare) cover the radius.
  SELECT z.*,
         ST_Expand(z.geom,
                   z.radius_m * 1.01 / (111319.0 * cos(radians(LEAST(89.0,
                     GREATEST(abs(ST_YMin(z.geom)), abs(ST_YMax(z.geom)))
                     + z.radius_m / 110574.0 + 0.01)))),
                   z.radius_m * 1.01 / 110574.0) AS box
  FROM z
), pairs AS MATERIALIZED (
  SELECT h.id, h.code, h.head_name, h.members, h.village, h.address, h.phone,
         h.tags, h.geom, b.code AS hazard, b.kind, b.radius_m,
         ST_Distance(CAST(h.geom AS geography), b.zone) AS distance_m
  FROM boxed b
  JOIN households h ON h.township_code = :t AND h.geom && b.box
  WHERE ST_DWithin(CAST(h.geom AS geography), b.zone, b.radius_m)
), nearest AS MATERIALIZED (
  SELECT DISTINCT ON (p.id) p.*,
         p.tags && CAST(:priority_tags AS varchar[]) AS priority,
         array_agg(p.hazard) OVER (
           PARTITION BY p.id ORDER BY p.distance_m, p.hazard
           ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS hazards
  FROM pairs p
  ORDER BY p.id, p.distance_m, p.hazard
), totals AS MATERIALIZED (
  SELECT count(*) AS total, count(*) FILTER (WHERE priority) AS priority_total,
         COALESCE(sum(members), 0) AS people
  FROM nearest
)
SELECT 'household' AS row_kind, l.code, l.head_name, l.members, l.village,
       l.address, l.phone, l.tags, l.lon, l.lat, l.priority, l.distance_m, l.hazard,
       l.kind, l.radius_m, l.hazards, l.grid, l.grid_name, l.cadre, l.cadre_name,
       l.cadre_phone, NULL::bigint AS total, NULL::bigint AS priority_total,
       NULL::bigint AS people, NULL AS severity, NULL::bigint AS n
FROM (
  SELECT n.code, n.head_name, n.members, n.village, n.address, n.phone, n.tags,
         ST_X(n.geom) AS lon, ST_Y(n.geom) AS lat, n.priority, n.distance_m,
         n.hazard, n.kind, n.radius_m, n.hazards, g.code AS grid,
         g.name AS grid_name, c.code AS cadre, c.name AS cadre_name,
         c.phone AS cadre_phone
  FROM nearest n
  LEFT JOIN household_assignments a ON a.township_code = :t
                                   AND a.household_id = n.id
  LEFT JOIN grids g ON g.township_code = :t AND g.id = a.grid_id
  LEFT JOIN cadres c ON c.township_code = :t AND c.id = a.cadre_id
  ORDER BY n.priority DESC NULLS LAST, n.distance_m, n.code
  LIMIT :limit OFFSET :offset
) l
UNION ALL
SELECT 'hazard', b.code, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, b.kind, b.radius_m, NULL, NULL, NULL, NULL, NULL, NULL, t.total,
       t.priority_total, t.people, b.severity, COALESCE(c.n, 0)
FROM boxed b CROSS JOIN totals t
LEFT JOIN (SELECT hazard, count(*) AS n FROM pairs GROUP BY hazard) c
  ON c.hazard = b.code
ORDER BY 11 DESC NULLS LAST, 12, 2;

-- name: shelters
-- Each household's three nearest shelters in a straight line, leaving out those
-- inside the radius of the hazard it is warned about (a shelter in the danger
-- zone is no shelter): the candidates the road route chooses among
-- (layers/hazards/evacuation.py). Nearest first.
SELECT h.code AS household, s.code, s.name, s.address, s.phone, s.distance_m,
       degrees(ST_Azimuth(h.geom, s.geom)) AS bearing,
       ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat
FROM unnest(CAST(:households AS text[]), CAST(:hazards AS text[]),
            CAST(:radii AS float8[])) WITH ORDINALITY AS w(household, hazard,
                                                          radius_m, n)
JOIN households h ON h.township_code = :t AND h.code = w.household
JOIN hazards z ON z.township_code = :t AND z.code = w.hazard
CROSS JOIN LATERAL (
  SELECT s.code, s.name, s.address, s.phone, s.geom,
         ST_Distance(h.geom::geography, s.geom::geography) AS distance_m
  FROM shelters s
  WHERE s.township_code = :t
    AND NOT ST_DWithin(s.geom::geography, z.geom::geography, w.radius_m)
  ORDER BY s.geom <-> h.geom
  LIMIT 3
) s
ORDER BY w.n, s.distance_m, s.code
