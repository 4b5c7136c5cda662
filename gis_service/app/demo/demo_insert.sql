-- One set-based INSERT ... SELECT per layer; codes resolve to ids. :t = township.
-- Run in file order.

-- name: step_00
INSERT INTO grids (township_code, code, name, level, depth, parent_id, path, geom)
SELECT :t, code, name, level, 0, NULL, '/', geom FROM _stage_grids;

-- name: step_01
UPDATE grids g SET parent_id = p.id
FROM _stage_grids s JOIN grids p ON p.township_code = :t AND p.code = s.parent_code
WHERE g.township_code = :t AND g.code = s.code;

-- name: step_02
WITH RECURSIVE tree AS (
  SELECT id, 0 AS depth, '/' || id || '/' AS path FROM grids
   WHERE township_code = :t AND parent_id IS NULL
  UNION ALL
  SELECT g.id, tree.depth + 1, tree.path || g.id || '/'
    FROM grids g JOIN tree ON g.parent_id = tree.id WHERE g.township_code = :t)
UPDATE grids g SET depth = tree.depth, path = tree.path FROM tree WHERE g.id = tree.id;

-- name: step_03
INSERT INTO cadres (township_code, code, name, role, phone, home_grid_id, capacity, base)
SELECT :t, s.code, s.name, s.role, s.phone, g.id, s.capacity, s.base
FROM _stage_cadres s LEFT JOIN grids g ON g.township_code = :t AND g.code = s.home_grid_code;

-- name: step_04
-- Straight copies: the column lists come from the ORM model (MODEL_COLUMNS).
INSERT INTO households (township_code, {{columns:households}})
SELECT :t, {{columns:households}} FROM _stage_households;

-- name: step_05
INSERT INTO pasture_parcels (township_code, contract_no, holder_household_id, contract_area_mu, geom)
SELECT :t, s.contract_no, h.id, s.contract_area_mu, s.geom
FROM _stage_parcels s LEFT JOIN households h ON h.township_code = :t AND h.code = s.holder_code;

-- name: step_06
INSERT INTO hazards (township_code, code, kind, severity, status, description, warn_radius_m,
                    found_at, deadline, closed_at, geom, grid_id)
SELECT :t, s.code, s.kind, s.severity, s.status, s.description, s.warn_radius_m,
       s.found_at, s.deadline, s.closed_at, s.geom,
       {{covering_grid:s}}
FROM _stage_hazards s;

-- name: step_07
INSERT INTO roads (township_code, {{columns:roads}})
SELECT :t, {{columns:roads}} FROM _stage_roads;

-- name: step_08
DROP TABLE IF EXISTS _visit_ids;

-- name: step_09
CREATE TEMP TABLE _visit_ids ON COMMIT DROP AS
WITH ins AS (
  INSERT INTO visits (township_code, household_id, cadre_id, visited_at, purpose, notes, fix)
  SELECT :t, h.id, c.id, s.visited_at, s.purpose, s.notes, s.fix
  FROM _stage_visits s
  JOIN households h ON h.township_code = :t AND h.code = s.household_code
  LEFT JOIN cadres c ON c.township_code = :t AND c.code = s.cadre_code
  ORDER BY s.visit_key
  RETURNING id)
SELECT id, row_number() OVER (ORDER BY id) - 1 AS visit_key FROM ins;

-- name: step_10
INSERT INTO demands (township_code, household_id, visit_id, owner_cadre_id, category,
                    description, status, due_date, resolved_at)
SELECT :t, h.id, v.id, c.id, s.category, s.description, s.status, s.due_date, s.resolved_at
FROM _stage_demands s
JOIN households h ON h.township_code = :t AND h.code = s.household_code
LEFT JOIN _visit_ids v ON v.visit_key = s.visit_key
LEFT JOIN cadres c ON c.township_code = :t AND c.code = s.owner_code;
