-- Demo township loader: staging tables (filled by COPY), then one set-based
-- Staging tables, filled by COPY.
-- Run in file order.

-- name: step_00
DROP TABLE IF EXISTS _stage_grids;

-- name: step_01
CREATE TEMP TABLE _stage_grids (
    code text,
    name text,
    level text,
    parent_code text,
    geom geometry
) ON COMMIT DROP;

-- name: step_02
DROP TABLE IF EXISTS _stage_cadres;

-- name: step_03
CREATE TEMP TABLE _stage_cadres (
    code text,
    name text,
    role text,
    phone text,
    home_grid_code text,
    capacity int,
    base geometry
) ON COMMIT DROP;

-- name: step_04
DROP TABLE IF EXISTS _stage_households;

-- name: step_05
-- Columns and types of the households model (gis_service.core.models.MODEL_COLUMNS).
CREATE TEMP TABLE _stage_households ({{column_defs:households}}) ON COMMIT DROP;

-- name: step_06
DROP TABLE IF EXISTS _stage_parcels;

-- name: step_07
CREATE TEMP TABLE _stage_parcels (
    contract_no text,
    holder_code text,
    contract_area_mu numeric,
    geom geometry
) ON COMMIT DROP;

-- name: step_08
DROP TABLE IF EXISTS _stage_hazards;

-- name: step_09
CREATE TEMP TABLE _stage_hazards (
    code text,
    kind text,
    severity text,
    status text,
    description text,
    warn_radius_m float8,
    found_at timestamptz,
    deadline date,
    closed_at timestamptz,
    geom geometry
) ON COMMIT DROP;

-- name: step_10
DROP TABLE IF EXISTS _stage_roads;

-- name: step_11
CREATE TEMP TABLE _stage_roads ({{column_defs:roads}}) ON COMMIT DROP;

-- name: step_12
DROP TABLE IF EXISTS _stage_visits;

-- name: step_13
CREATE TEMP TABLE _stage_visits (
    visit_key int,
    household_code text,
    cadre_code text,
    visited_at timestamptz,
    purpose text,
    notes text,
    fix geometry
) ON COMMIT DROP;

-- name: step_14
DROP TABLE IF EXISTS _stage_demands;

-- name: step_15
CREATE TEMP TABLE _stage_demands (
    visit_key int,
    household_code text,
    owner_code text,
    category text,
    description text,
    status text,
    due_date date,
    resolved_at timestamptz
) ON COMMIT DROP;
