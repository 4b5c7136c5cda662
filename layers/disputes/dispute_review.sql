-- Reading and reviewing disputes: statements of layers/dispute_review.py.

-- name: page
-- One page of disputes (filters optional); a grid matches a dispute when either
-- holder household lives in that grid or below it (materialised path prefix).
WITH picked AS (
  SELECT d.id, count(*) OVER () AS total
  FROM disputes d
  WHERE d.township_code = :township
    AND (CAST(:status AS text) IS NULL OR d.status = :status)
    AND (CAST(:min_area_m2 AS float8) IS NULL OR d.overlap_area_m2 >= :min_area_m2)
    AND (CAST(:grid_path AS text) IS NULL OR EXISTS (
          SELECT 1
          FROM pasture_parcels p
          JOIN households_assigned h ON h.township_code = p.township_code
                           AND h.id = p.holder_household_id
          JOIN grids g ON g.township_code = h.township_code AND g.id = h.grid_id
          WHERE p.township_code = d.township_code
            AND p.id IN (d.parcel_a_id, d.parcel_b_id)
            AND g.path LIKE CAST(:grid_path AS text) || '%'))
  ORDER BY d.overlap_area_m2 DESC, d.id
  LIMIT :limit OFFSET :offset
)
SELECT picked.total, d.id, d.township_code, d.status, d.overlap_area_m2,
       d.first_detected_at, d.last_detected_at, d.closed_reason
FROM picked JOIN disputes d ON d.township_code = :township AND d.id = picked.id
ORDER BY d.overlap_area_m2 DESC, d.id;

-- name: sides
-- Both parcels of each listed dispute with holder, grid and responsible cadre.
SELECT d.id AS dispute_id, s.side, p.id AS parcel_id, p.contract_no,
       p.contract_area_mu::float8 AS contract_area_mu,
       ST_Area(p.geom::geography) / :mu_m2 AS mapped_area_mu,
       h.id AS household_id, h.code AS household_code, h.head_name, h.village,
       h.phone, h.id_number,
       g.id AS grid_id, g.code AS grid_code, g.name AS grid_name,
       c.id AS cadre_id, c.code AS cadre_code, c.name AS cadre_name,
       c.phone AS cadre_phone,
       CASE WHEN :with_geometry THEN ST_AsGeoJSON(p.geom, 7) END AS geometry
FROM disputes d
CROSS JOIN LATERAL (VALUES ('a', d.parcel_a_id), ('b', d.parcel_b_id)) AS s(side, pid)
JOIN pasture_parcels p ON p.township_code = d.township_code AND p.id = s.pid
LEFT JOIN households_assigned h ON h.township_code = p.township_code
                      AND h.id = p.holder_household_id
LEFT JOIN grids g ON g.township_code = h.township_code AND g.id = h.grid_id
LEFT JOIN cadres c ON c.township_code = h.township_code AND c.id = h.cadre_id
WHERE d.township_code = :township AND d.id = ANY(CAST(:ids AS bigint[]))
ORDER BY d.id, s.side;

-- name: one
SELECT 1 AS total, d.id, d.township_code, d.status, d.overlap_area_m2,
       d.first_detected_at, d.last_detected_at, d.closed_reason,
       ST_AsGeoJSON(d.overlap, 7) AS overlap
FROM disputes d
WHERE d.township_code = :township AND d.id = :dispute_id;

-- name: events
SELECT from_status, to_status, actor, note, at
FROM dispute_events
WHERE township_code = :township AND dispute_id = :dispute_id
ORDER BY at, id;

-- name: transition
-- Move only from an allowed status; the row lock makes two reviewers race safely.
WITH cur AS (
  SELECT id, status FROM disputes
  WHERE township_code = :township AND id = :dispute_id
  FOR UPDATE
), moved AS (
  UPDATE disputes d SET status = :to_status, updated_at = now()
  FROM cur
  WHERE d.township_code = :township AND d.id = cur.id
    AND cur.status = ANY(CAST(:allowed_from AS text[]))
  RETURNING d.id, cur.status AS from_status
), logged AS (
  INSERT INTO dispute_events (township_code, dispute_id, from_status, to_status, actor, note)
  SELECT :township, id, from_status, :to_status, :actor, :note FROM moved
)
SELECT cur.status, (SELECT count(*) FROM moved) AS moved FROM cur;

-- name: summary
-- Disputes per status and, for each open status, the digest of what the contested
-- area is worked out from (ids in order, stored areas, geometries): the md5 of
-- open_overlaps' parts of that status joined by ','. One pass under the scope.
SELECT d.status, count(*) AS n,
       md5(string_agg(d.id::text || ':' || d.overlap_area_m2::text || ':'
                      || md5(ST_AsBinary(d.overlap)), ',' ORDER BY d.id)
           FILTER (WHERE d.status = ANY(CAST(:open_statuses AS text[]))))
         AS digest
FROM disputes d
WHERE d.township_code = :township GROUP BY d.status;

-- name: open_overlaps
-- The open overlaps (the caller's scope) with their stored geodesic areas; the
-- contested area is worked out from them in review.contested_m2.
SELECT d.status, d.overlap_area_m2 AS m2, ST_AsBinary(d.overlap) AS wkb,
       d.id::text || ':' || d.overlap_area_m2::text || ':'
       || md5(ST_AsBinary(d.overlap)) AS part
FROM disputes d
WHERE d.township_code = :township
  AND d.status = ANY(CAST(:open_statuses AS text[]))
ORDER BY d.id;

-- name: geodesic_area
-- The geodesic area (m²) of these WKB polygons together.
SELECT COALESCE(sum(ST_Area(ST_GeomFromWKB(w, 4326)::geography)), 0)
FROM unnest(CAST(:wkbs AS bytea[])) AS w;

-- name: last_run
SELECT * FROM dispute_runs WHERE township_code = :township
ORDER BY run_at DESC, id DESC LIMIT 1;

-- name: findings
SELECT count(*) OVER () AS total, f.kind, f.parcel_id, p.contract_no,
       f.other_parcel_id, o.contract_no AS other_contract_no, f.area_m2, f.mapped_mu,
       f.contract_mu, f.detail
FROM parcel_findings f
JOIN pasture_parcels p ON p.township_code = f.township_code AND p.id = f.parcel_id
LEFT JOIN pasture_parcels o ON o.township_code = f.township_code
                           AND o.id = f.other_parcel_id
WHERE f.township_code = :township
  AND (CAST(:kind AS text) IS NULL OR f.kind = :kind)
ORDER BY f.kind, f.area_m2 DESC NULLS LAST, f.id
LIMIT :limit OFFSET :offset;
