-- Pasture-dispute detection: statements of layers/disputes.py, one per `-- name:`.
-- Every statement is scoped by :township; _dispute_pairs is this run's temp table,
-- dropped at commit (a pooled connection keeps none, whichever role made it).

-- name: drop_checks
DROP TABLE IF EXISTS _parcel_checks;

-- name: check_parcels
-- One parallel pass over the parcels: validity and geodesic area, reused for the
-- invalid-geometry and area-mismatch findings (kept flat so it stays parallel).
CREATE TEMP TABLE _parcel_checks ON COMMIT DROP AS
SELECT p.id, p.contract_area_mu::float8 AS contract_mu, ST_IsValid(p.geom) AS valid,
       ST_Area(p.geom::geography) AS mapped_m2
FROM pasture_parcels p
WHERE p.township_code = :township;

-- name: measure_invalid
-- An invalid parcel's area is that of its valid form (a bow-tie's lobes would cancel).
UPDATE _parcel_checks c
SET mapped_m2 = ST_Area(ST_CollectionExtract(ST_MakeValid(p.geom), 3)::geography)
FROM pasture_parcels p
WHERE NOT c.valid AND p.township_code = :township AND p.id = c.id;

-- name: invalid_parcels
SELECT id FROM _parcel_checks WHERE NOT valid ORDER BY id;

-- name: drop_pairs
DROP TABLE IF EXISTS _dispute_pairs;

-- name: scans
SELECT current_setting('enable_bitmapscan') AS bitmap,
       current_setting('enable_seqscan') AS seq;

-- name: set_scans
-- For create_pairs alone (transaction-local, put back after it): one index scan of
-- the township's parcels (the primary key) and one GIST probe per parcel. With
-- bitmaps off alone, among 173 townships the planner scanned the whole table in
-- parallel for the township's rows (45 ms per worker at 432 500 parcels).
SELECT set_config('enable_bitmapscan', :bitmap, true),
       set_config('enable_seqscan', :seq, true);

-- name: create_pairs
-- One GIST-indexed self-join: Nested Loop -> (Parallel) Index Scan pk_pasture_parcels
-- a (the township's parcels) + Index Scan idx_pasture_parcels_geom b (geom &&
-- a.geom: one probe; townships do not overlap, so it meets few rows of others).
-- The pair ordering is written `a.id + 0 < b.id + 0` on purpose, and bitmap (and
-- sequential) scans are off for this statement alone (detect.py): otherwise the
-- planner ANDs a pk range scan (id > a.id, ~50 000 rows per parcel, or the
-- township's whole key range among many townships, migration 0150) into a
-- BitmapAnd with the GIST probe, which is quadratic (60 s instead of 3 s), or
-- scans the whole table for one township. Only pairs whose interiors intersect
-- (DE-9IM 'T********', so parcels that merely share a border are dropped) reach
-- ST_Intersection. Invalid parcels (:invalid) are compared through ST_MakeValid so a bow-tie cannot abort the run.
-- OFFSET 0 keeps the overlap computed once for both the column and its area.
-- A sliver is told by its shape, not by the parcels' size: thin (mean width
-- 2·A/P on the ellipsoid under :min_width_m) or tiny (under :min_area_m2), or, only
-- when asked, a small share of the smaller parcel (:min_share, 0 = off). Overlaps
-- of (next to) zero area, as repaired parcels leave with their neighbours, are no
-- finding at all.
CREATE TEMP TABLE _dispute_pairs ON COMMIT DROP AS
SELECT o.a_id, o.b_id, o.a_holder, o.b_holder, o.overlap, o.a_m2, o.b_m2,
       o.overlap_m2, o.width_m,
       CASE
         WHEN o.a_holder = o.b_holder THEN 'self_overlap'
         WHEN o.width_m < :min_width_m OR o.overlap_m2 < :min_area_m2
              OR o.overlap_m2 < :min_share * LEAST(o.a_m2, o.b_m2) THEN 'sliver'
         ELSE 'dispute'
       END AS kind
FROM (
  SELECT s.*, m.overlap_m2,
         CASE WHEN m.perimeter_m > 0 THEN 2 * m.overlap_m2 / m.perimeter_m ELSE 0 END
           AS width_m
  FROM (
    SELECT a.id AS a_id, b.id AS b_id,
           a.holder_household_id AS a_holder, b.holder_household_id AS b_holder,
           ST_Multi(ST_CollectionExtract(ST_Intersection(
             CASE WHEN a.id = ANY(CAST(:invalid AS bigint[]))
                  THEN ST_CollectionExtract(ST_MakeValid(a.geom), 3) ELSE a.geom END,
             CASE WHEN b.id = ANY(CAST(:invalid AS bigint[]))
                  THEN ST_CollectionExtract(ST_MakeValid(b.geom), 3) ELSE b.geom END
           ), 3)) AS overlap,
           ST_Area((CASE WHEN a.id = ANY(CAST(:invalid AS bigint[]))
                    THEN ST_CollectionExtract(ST_MakeValid(a.geom), 3)
                    ELSE a.geom END)::geography) AS a_m2,
           ST_Area((CASE WHEN b.id = ANY(CAST(:invalid AS bigint[]))
                    THEN ST_CollectionExtract(ST_MakeValid(b.geom), 3)
                    ELSE b.geom END)::geography) AS b_m2
    FROM pasture_parcels a
    JOIN pasture_parcels b
      ON b.geom && a.geom AND b.township_code = :township AND a.id + 0 < b.id + 0
    WHERE a.township_code = :township
      AND ST_Relate(
            CASE WHEN a.id = ANY(CAST(:invalid AS bigint[]))
                 THEN ST_CollectionExtract(ST_MakeValid(a.geom), 3) ELSE a.geom END,
            CASE WHEN b.id = ANY(CAST(:invalid AS bigint[]))
                 THEN ST_CollectionExtract(ST_MakeValid(b.geom), 3) ELSE b.geom END,
            'T********')
    OFFSET 0
  ) s
  CROSS JOIN LATERAL (SELECT ST_Area(s.overlap::geography) AS overlap_m2,
                             ST_Perimeter(s.overlap::geography) AS perimeter_m) m
) o
WHERE o.overlap_m2 >= :zero_m2;

-- name: analyze_pairs
ANALYZE _dispute_pairs;

-- name: start_run
INSERT INTO dispute_runs (township_code, actor, min_area_m2, min_width_m, min_share,
                          area_tolerance,
                          parcels, disputes_new, disputes_updated, disputes_reopened,
                          disputes_closed, disputes_seen, slivers, self_overlaps,
                          area_mismatches, invalid_parcels, duration_ms)
SELECT :township, :actor, :min_area_m2, :min_width_m, :min_share, :area_tolerance,
       (SELECT count(*) FROM pasture_parcels WHERE township_code = :township),
       0, 0, 0, 0, 0, 0, 0, 0, 0, 0
RETURNING id, parcels;

-- name: insert_new
WITH new AS (
  INSERT INTO disputes (township_code, parcel_a_id, parcel_b_id, overlap, overlap_area_m2)
  SELECT :township, p.a_id, p.b_id, p.overlap, p.overlap_m2
  FROM _dispute_pairs p WHERE p.kind = 'dispute'
  ON CONFLICT (township_code, parcel_a_id, parcel_b_id) DO NOTHING
  RETURNING id, overlap_area_m2
), logged AS (
  INSERT INTO dispute_events (township_code, dispute_id, from_status, to_status, actor, note)
  SELECT :township, id, NULL, 'open', :actor,
         format('detected: overlap %s m²', round(overlap_area_m2::numeric, 1))
  FROM new
)
SELECT count(*) FROM new;

-- name: reopen
-- A dispute auto-closed earlier whose overlap is back: the same record opens again.
WITH hit AS (
  UPDATE disputes d
  SET status = 'open', closed_reason = NULL, overlap = p.overlap,
      overlap_area_m2 = p.overlap_m2, last_detected_at = now(), updated_at = now()
  FROM _dispute_pairs p
  WHERE d.township_code = :township AND d.status = 'closed' AND p.kind = 'dispute'
    AND d.parcel_a_id = p.a_id AND d.parcel_b_id = p.b_id
  RETURNING d.id, d.overlap_area_m2
), logged AS (
  INSERT INTO dispute_events (township_code, dispute_id, from_status, to_status, actor, note)
  SELECT :township, id, 'closed', 'open', :actor,
         format('overlap detected again: %s m²', round(overlap_area_m2::numeric, 1))
  FROM hit
)
SELECT count(*) FROM hit;

-- name: update_changed
-- Same pair, different overlap: update the geometry and area, keep status and id.
WITH changed AS (
  SELECT d.id, d.status, d.overlap_area_m2 AS old_m2, p.overlap, p.overlap_m2
  FROM disputes d
  JOIN _dispute_pairs p ON p.a_id = d.parcel_a_id AND p.b_id = d.parcel_b_id
  WHERE d.township_code = :township AND p.kind = 'dispute'
    AND (d.overlap IS NULL OR NOT ST_OrderingEquals(d.overlap, p.overlap))
  FOR UPDATE OF d
), hit AS (
  UPDATE disputes d
  SET overlap = c.overlap, overlap_area_m2 = c.overlap_m2,
      last_detected_at = now(), updated_at = now()
  FROM changed c
  WHERE d.township_code = :township AND d.id = c.id
  RETURNING d.id
), logged AS (
  INSERT INTO dispute_events (township_code, dispute_id, from_status, to_status, actor, note)
  SELECT :township, c.id, c.status, c.status, :actor,
         format('overlap changed: %s m² -> %s m²', round(c.old_m2::numeric, 1),
                round(c.overlap_m2::numeric, 1))
  FROM changed c JOIN hit USING (id)
)
SELECT count(*) FROM hit;

-- name: touch_seen
UPDATE disputes d SET last_detected_at = now()
FROM _dispute_pairs p
WHERE d.township_code = :township AND p.kind = 'dispute'
  AND d.parcel_a_id = p.a_id AND d.parcel_b_id = p.b_id
  AND d.last_detected_at <> now();

-- name: close_gone
-- Open or mediating disputes whose pair is no longer a dispute close with a reason
-- saying what happened; resolved and dismissed ones keep their outcome. An overlap
-- the same as when it was last a dispute means the thresholds changed, not the
-- parcels (so changing thresholds never reads as "the overlap shrank").
WITH gone AS (
  SELECT d.id, d.status, p.kind, p.overlap_m2 AS now_m2, p.width_m,
         d.overlap_area_m2 AS was_m2,
         p.kind IS NOT NULL AND abs(p.overlap_m2 - d.overlap_area_m2) < 0.01
           AS unchanged
  FROM disputes d
  LEFT JOIN _dispute_pairs p ON p.a_id = d.parcel_a_id AND p.b_id = d.parcel_b_id
  WHERE d.township_code = :township
    AND d.status = ANY(CAST(:open_statuses AS text[]))
    AND p.kind IS DISTINCT FROM 'dispute'
  FOR UPDATE OF d
), hit AS (
  UPDATE disputes d
  SET status = 'closed', updated_at = now(),
      closed_reason = CASE
        WHEN g.kind = 'self_overlap' THEN 'both parcels now have the same holder'
        WHEN g.kind = 'sliver' AND g.unchanged THEN format(
          'the thresholds changed: the overlap is unchanged (%s m², mean width %s m) '
          'but is now a sliver', round(g.now_m2::numeric, 1),
          round(g.width_m::numeric, 2))
        WHEN g.kind = 'sliver' THEN format(
          'the parcels were edited: the overlap shrank from %s m² to a sliver '
          '(%s m², mean width %s m)', round(g.was_m2::numeric, 1),
          round(g.now_m2::numeric, 1), round(g.width_m::numeric, 2))
        ELSE 'the parcels were edited: they no longer overlap' END
  FROM gone g
  WHERE d.township_code = :township AND d.id = g.id
  RETURNING d.id, d.closed_reason
), logged AS (
  INSERT INTO dispute_events (township_code, dispute_id, from_status, to_status, actor, note)
  SELECT :township, g.id, g.status, 'closed', :actor, h.closed_reason
  FROM gone g JOIN hit h USING (id)
)
SELECT count(*) FROM hit;

-- name: clear_findings
DELETE FROM parcel_findings WHERE township_code = :township;

-- name: pair_findings
WITH ins AS (
  INSERT INTO parcel_findings (township_code, run_id, kind, parcel_id, other_parcel_id,
                               area_m2, detail, geom)
  SELECT :township, :run_id, p.kind, p.a_id, p.b_id, p.overlap_m2,
         format('mean width %s m, %s%% of the smaller parcel',
                round(p.width_m::numeric, 2),
                round((100 * p.overlap_m2 / NULLIF(LEAST(p.a_m2, p.b_m2), 0))::numeric, 2)),
         p.overlap
  FROM _dispute_pairs p WHERE p.kind IN ('sliver', 'self_overlap')
  RETURNING kind
)
SELECT count(*) FILTER (WHERE kind = 'sliver') AS slivers,
       count(*) FILTER (WHERE kind = 'self_overlap') AS self_overlaps,
       (SELECT count(*) FROM _dispute_pairs WHERE kind = 'dispute') AS seen
FROM ins;

-- name: area_findings
WITH ins AS (
  INSERT INTO parcel_findings (township_code, run_id, kind, parcel_id, area_m2,
                               mapped_mu, contract_mu, detail)
  SELECT :township, :run_id, 'area_mismatch', c.id, c.mapped_m2, c.mapped_m2 / :mu_m2,
         c.contract_mu,
         format('mapped area differs from the contract by %s%%',
                round((100 * (c.mapped_m2 / :mu_m2 - c.contract_mu) / c.contract_mu)::numeric, 1))
  FROM _parcel_checks c
  WHERE abs(c.mapped_m2 / :mu_m2 - c.contract_mu) > :area_tolerance * c.contract_mu
  RETURNING 1
)
SELECT count(*) FROM ins;

-- name: invalid_findings
WITH ins AS (
  INSERT INTO parcel_findings (township_code, run_id, kind, parcel_id, detail, geom)
  SELECT :township, :run_id, 'invalid_geometry', p.id, v.reason, v.location
  FROM _parcel_checks c
  JOIN pasture_parcels p ON p.township_code = :township AND p.id = c.id
  CROSS JOIN LATERAL ST_IsValidDetail(p.geom) AS v
  WHERE NOT c.valid
  RETURNING 1
)
SELECT count(*) FROM ins;

-- name: finish_run
UPDATE dispute_runs
SET disputes_new = :new, disputes_updated = :updated, disputes_reopened = :reopened,
    disputes_closed = :closed, disputes_seen = :seen, slivers = :slivers,
    self_overlaps = :self_overlaps, area_mismatches = :area_mismatches,
    invalid_parcels = :invalid_parcels, duration_ms = :duration_ms
WHERE township_code = :township AND id = :run_id
RETURNING *;
