"""Scope keys on the rows: a grid leader's or cadre's policy is a column test.

Until now a grid leader's households policy was ``(township_code, id) IN (SELECT
... FROM household_assignments a)``: every statement built the subtree's set of
assignments (54 000 rows at 100 000 households) and probed it for every household
of the township, and the probe, a SubPlan, kept the scan serial. A 100-row page
that reads 100 rows without RLS built the whole set first (3.3x at 100 000); a
leader's disputes went through two such sets, one per parcel (OR-ed).

Now the keys the policies test are copied onto the rows they scope:
``households.grid_id, cadre_id`` (its assignment's; NULL without one),
``pasture_parcels.holder_grid_id, holder_cadre_id`` (its holder's) and
``disputes.grid_a_id, cadre_a_id, grid_b_id, cadre_b_id`` (its two parcels'),
each indexed (key first: a policy's township check is an OR, no index
condition). The policies say ``grid_id = ANY (<subtree>)`` / ``cadre_id =
<cadre>``; the rows each role sees are the same (tests compare with 0151's rule).

The database keeps the copies equal to their source; no writer has to:

* ``gridgis_scope_sync(township, ids)`` (SECURITY DEFINER, under the township's
  assignment lock) sets the keys of those households (NULL: all of the township)
  from their assignments, then of the parcels they hold, then of the township's
  disputes, writing only rows that differ. Statement triggers on
  ``household_assignments`` (INSERT, UPDATE, DELETE with transition tables,
  TRUNCATE) call it once per statement and township, and ``gridgis_partition``
  after a partition of assignments is attached, swapped in (a full run: action
  ``swap`` detaches, drops, renames, attaches and syncs in one call) or dropped.
  Direct DML on an assignments partition, which would skip the parent's
  statement triggers, is revoked from ``gridgis_system`` (it writes through the
  parent).
* Guards: a household's key written any other way is recomputed from its
  assignment by a BEFORE row trigger; a parcel's keys (on insert, or a change of
  holder) and a dispute's (on insert, or a change of parcels) are always
  computed by one, from the holder / both parcels read FOR SHARE, so a sync
  moving those keys has committed first or waits for this writer. A parcel whose
  keys so change passes them to its disputes. The households' guard stands aside
  only inside the sync (its transaction-local ``gridgis.scope_sync`` and the
  function's owner as ``current_user``, both in the trigger's WHEN): a first
  import's sync writes every household and pays no per-row call.

Concurrency: the sync's UPDATEs join each row to its source directly, so a row
changed meanwhile by another transaction is re-checked against the join
(READ COMMITTED) and never gets a stale source's keys; keys are written in the
transaction that wrote the assignments, so readers see both old or both new.

Revision ID: 0160_scope_keys
Revises: 0151_rls_plans
Create Date: 2026-12-03 04:20:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0160_scope_keys'
down_revision: str | None = '0151_rls_plans'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYSTEM = 'gridgis_system'
TOWNSHIPS = (
    "CAST((SELECT string_to_array(current_setting('gridgis.townships', true), ','))"
    " AS text[])"
)
TOWNSHIP_OK = (
    "((SELECT nullif(current_setting('gridgis.townships', true), '')) = '*'"
    f" OR township_code = ANY ({TOWNSHIPS}))"
)
GRIDS = (
    "CAST((SELECT CAST(string_to_array(nullif(current_setting('gridgis.grid_ids',"
    " true), ''), ',') AS bigint[])) AS bigint[])"
)
CADRE = "(SELECT CAST(nullif(current_setting('gridgis.cadre_id', true), '') AS bigint))"

COLUMNS = {
    'households': ('grid_id', 'cadre_id'),
    'pasture_parcels': ('holder_grid_id', 'holder_cadre_id'),
    'disputes': ('grid_a_id', 'cadre_a_id', 'grid_b_id', 'cadre_b_id'),
}
# index name -> (table, key column); the township second (the query's own filter)
INDEXES = {
    'ix_households_scope_grid': ('households', 'grid_id'),
    'ix_households_scope_cadre': ('households', 'cadre_id'),
    'ix_pasture_parcels_scope_grid': ('pasture_parcels', 'holder_grid_id'),
    'ix_pasture_parcels_scope_cadre': ('pasture_parcels', 'holder_cadre_id'),
    'ix_disputes_scope_grid_a': ('disputes', 'grid_a_id'),
    'ix_disputes_scope_grid_b': ('disputes', 'grid_b_id'),
    'ix_disputes_scope_cadre_a': ('disputes', 'cadre_a_id'),
    'ix_disputes_scope_cadre_b': ('disputes', 'cadre_b_id'),
}
NEW_RULES = {
    'leader': {
        'households': f"grid_id = ANY ({GRIDS})",
        'pasture_parcels': f"holder_grid_id = ANY ({GRIDS})",
        'disputes': f"grid_a_id = ANY ({GRIDS}) OR grid_b_id = ANY ({GRIDS})",
    },
    'cadre': {
        'households': f"cadre_id = {CADRE}",
        'pasture_parcels': f"holder_cadre_id = {CADRE}",
        'disputes': f"cadre_a_id = {CADRE} OR cadre_b_id = {CADRE}",
    },
}
_IN = (
    "(township_code, {column}) IN (SELECT a.township_code, a.household_id"
    " FROM household_assignments a)"
)
_PARCEL = (
    "EXISTS (SELECT 1 FROM pasture_parcels p WHERE p.township_code ="
    " disputes.township_code AND p.id = disputes.{column})"
)
OLD_RULES = {  # 0151's (downgrade)
    short: {
        'households': _IN.format(column='id'),
        'pasture_parcels': _IN.format(column='holder_household_id'),
        'disputes': f"{_PARCEL.format(column='parcel_a_id')}"
        f" OR {_PARCEL.format(column='parcel_b_id')}",
    }
    for short in ('leader', 'cadre')
}

SYNC = """
CREATE FUNCTION gridgis_scope_sync(township text, ids bigint[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
  was text := current_setting('gridgis.scope_sync', true);
BEGIN
  -- the assignments' own lock: writers of one township's keys take turns
  PERFORM pg_advisory_xact_lock(hashtext('gridgis.assign:' || township));
  -- Each UPDATE joins the row it writes to its source directly (not through a
  -- sub-query of ids): a row another transaction changed meanwhile is re-checked
  -- against the join, so a stale source row is never copied onto a newer row.
  -- the households' guard and the parcels' hand-over to disputes stand aside
  PERFORM set_config('gridgis.scope_sync', 'on', true);
  UPDATE households h SET grid_id = a.grid_id, cadre_id = a.cadre_id
    FROM household_assignments a
   WHERE h.township_code = township AND a.township_code = township
     AND a.household_id = h.id
     AND (ids IS NULL OR h.id = ANY (ids))
     AND (h.grid_id, h.cadre_id) IS DISTINCT FROM (a.grid_id, a.cadre_id);
  UPDATE households h SET grid_id = NULL, cadre_id = NULL
   WHERE h.township_code = township
     AND (ids IS NULL OR h.id = ANY (ids))
     AND (h.grid_id IS NOT NULL OR h.cadre_id IS NOT NULL)
     AND NOT EXISTS (SELECT 1 FROM household_assignments a
                      WHERE a.township_code = h.township_code
                        AND a.household_id = h.id);
  -- parcels and disputes: their guards recompute each row written, from the
  -- newest committed source under a share lock (few rows: only those that moved)
  UPDATE pasture_parcels p
     SET holder_grid_id = h.grid_id, holder_cadre_id = h.cadre_id
    FROM households h
   WHERE p.township_code = township AND h.township_code = township
     AND h.id = p.holder_household_id
     AND (ids IS NULL OR h.id = ANY (ids))
     AND (p.holder_grid_id, p.holder_cadre_id)
         IS DISTINCT FROM (h.grid_id, h.cadre_id);
  UPDATE disputes d
     SET grid_a_id = pa.holder_grid_id, cadre_a_id = pa.holder_cadre_id,
         grid_b_id = pb.holder_grid_id, cadre_b_id = pb.holder_cadre_id
    FROM pasture_parcels pa, pasture_parcels pb
   WHERE d.township_code = township
     AND pa.township_code = township AND pa.id = d.parcel_a_id
     AND pb.township_code = township AND pb.id = d.parcel_b_id
     AND (d.grid_a_id, d.cadre_a_id, d.grid_b_id, d.cadre_b_id)
         IS DISTINCT FROM (pa.holder_grid_id, pa.holder_cadre_id,
                           pb.holder_grid_id, pb.holder_cadre_id);
  PERFORM set_config('gridgis.scope_sync', coalesce(was, ''), true);
END $$;
REVOKE ALL ON FUNCTION gridgis_scope_sync(text, bigint[]) FROM PUBLIC;
"""

# One function for the four statement triggers (each names its transition tables).
ASSIGNMENTS_CHANGED = """
CREATE FUNCTION gridgis_assignments_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE r record;
BEGIN
  IF TG_OP = 'INSERT' THEN
    FOR r IN SELECT township_code AS t, array_agg(household_id) AS ids
               FROM new_rows GROUP BY 1 LOOP
      PERFORM gridgis_scope_sync(r.t, r.ids);
    END LOOP;
  ELSIF TG_OP = 'UPDATE' THEN
    FOR r IN SELECT township_code AS t, array_agg(household_id) AS ids
               FROM (SELECT township_code, household_id FROM new_rows
                     UNION SELECT township_code, household_id FROM old_rows) c
              GROUP BY 1 LOOP
      PERFORM gridgis_scope_sync(r.t, r.ids);
    END LOOP;
  ELSIF TG_OP = 'DELETE' THEN
    FOR r IN SELECT township_code AS t, array_agg(household_id) AS ids
               FROM old_rows GROUP BY 1 LOOP
      PERFORM gridgis_scope_sync(r.t, r.ids);
    END LOOP;
  ELSE  -- TRUNCATE
    FOR r IN SELECT code AS t FROM townships LOOP
      PERFORM gridgis_scope_sync(r.t, NULL);
    END LOOP;
  END IF;
  RETURN NULL;
END $$;
"""

GUARDS = """
CREATE FUNCTION gridgis_household_keys() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
  SELECT a.grid_id, a.cadre_id INTO NEW.grid_id, NEW.cadre_id
    FROM household_assignments a
   WHERE a.township_code = NEW.township_code AND a.household_id = NEW.id;
  RETURN NEW;
END $$;
CREATE FUNCTION gridgis_parcel_keys() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
  -- FOR SHARE: a sync moving the holder's keys has finished (or waits for us)
  SELECT h.grid_id, h.cadre_id INTO NEW.holder_grid_id, NEW.holder_cadre_id
    FROM households h
   WHERE h.township_code = NEW.township_code AND h.id = NEW.holder_household_id
     FOR SHARE;
  RETURN NEW;
END $$;
CREATE FUNCTION gridgis_parcel_moved() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
  -- the disputes' guard computes the keys (from both parcels, locked)
  UPDATE disputes d SET grid_a_id = NEW.holder_grid_id
   WHERE d.township_code = NEW.township_code
     AND (d.parcel_a_id = NEW.id OR d.parcel_b_id = NEW.id);
  RETURN NULL;
END $$;
CREATE FUNCTION gridgis_dispute_keys() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
  SELECT p.holder_grid_id, p.holder_cadre_id INTO NEW.grid_a_id, NEW.cadre_a_id
    FROM pasture_parcels p
   WHERE p.township_code = NEW.township_code AND p.id = NEW.parcel_a_id
     FOR SHARE;
  SELECT p.holder_grid_id, p.holder_cadre_id INTO NEW.grid_b_id, NEW.cadre_b_id
    FROM pasture_parcels p
   WHERE p.township_code = NEW.township_code AND p.id = NEW.parcel_b_id
     FOR SHARE;
  RETURN NEW;
END $$;
"""
# Guards stand aside only for the sync function (its flag AND its owner).
NOT_SYNC = (
    "(current_setting('gridgis.scope_sync', true) IS DISTINCT FROM 'on'"
    " OR current_user <> %L)"
)
TRIGGERS = (
    # (name, table, timing/events, WHEN ({ns}: not inside the sync), function)
    ('households_scope_keys_insert', 'households', 'BEFORE INSERT',
     "(NEW.grid_id IS NOT NULL OR NEW.cadre_id IS NOT NULL) AND {ns}",
     'gridgis_household_keys'),
    ('households_scope_keys_update', 'households',
     'BEFORE UPDATE OF grid_id, cadre_id', '{ns}', 'gridgis_household_keys'),
    ('pasture_parcels_scope_keys', 'pasture_parcels',
     'BEFORE INSERT OR UPDATE OF holder_household_id, holder_grid_id, holder_cadre_id',
     'true', 'gridgis_parcel_keys'),
    ('pasture_parcels_scope_moved', 'pasture_parcels',
     'AFTER UPDATE OF holder_household_id, holder_grid_id, holder_cadre_id',
     "(OLD.holder_grid_id, OLD.holder_cadre_id) IS DISTINCT FROM"
     " (NEW.holder_grid_id, NEW.holder_cadre_id) AND {ns}",
     'gridgis_parcel_moved'),
    ('disputes_scope_keys', 'disputes',
     'BEFORE INSERT OR UPDATE OF parcel_a_id, parcel_b_id, grid_a_id, cadre_a_id,'
     ' grid_b_id, cadre_b_id', 'true', 'gridgis_dispute_keys'),
)
STATEMENT_TRIGGERS = {
    'household_assignments_scope_insert': 'AFTER INSERT ON household_assignments'
    ' REFERENCING NEW TABLE AS new_rows',
    'household_assignments_scope_update': 'AFTER UPDATE ON household_assignments'
    ' REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows',
    'household_assignments_scope_delete': 'AFTER DELETE ON household_assignments'
    ' REFERENCING OLD TABLE AS old_rows',
    'household_assignments_scope_truncate': 'AFTER TRUNCATE ON household_assignments',
}

PARTITION_FUNCTION = """
CREATE OR REPLACE FUNCTION gridgis_partition(action text, parent text, township text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
  part text := parent || '_' || township;
  fresh text := parent || '_' || township || '_next';
  owner name;
  i record;
BEGIN
  IF parent NOT IN ('households', 'household_assignments') THEN
    RAISE EXCEPTION 'gridgis_partition: no partitions of %', parent
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF township !~ '^[0-9]{12}$' THEN
    RAISE EXCEPTION 'gridgis_partition: township code % is not 12 digits', township
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT c.relowner::regrole::name INTO owner FROM pg_class c
   WHERE c.oid = parent::regclass;
  IF action = 'create' THEN
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES IN (%L)',
                   part, parent, township);
  ELSIF action = 'attach' OR action = 'attach_analyze' THEN
    -- the bare table was built by the caller (gridgis_system): the parent's
    -- owner takes it over, so only the parent (and its policies) reaches it
    EXECUTE format('ALTER TABLE %I OWNER TO %I', part, owner);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%L)',
                   parent, part, township);
    IF action = 'attach_analyze' THEN
      EXECUTE format('ANALYZE %I', part);
    END IF;
  ELSIF action = 'swap' AND parent = 'household_assignments' THEN
    -- a full run: <part>_next (built by the caller) replaces <part>, its
    -- indexes renamed with it, in one call so the keys are synced once
    IF to_regclass(part) IS NOT NULL THEN
      EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, part);
      EXECUTE format('DROP TABLE %I', part);
    END IF;
    EXECUTE format('ALTER TABLE %I OWNER TO %I', fresh, owner);
    EXECUTE format('ALTER TABLE %I RENAME TO %I', fresh, part);
    FOR i IN SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
              WHERE x.indrelid = to_regclass(part)
                AND starts_with(c.relname, fresh || '_') LOOP
      EXECUTE format('ALTER INDEX %I RENAME TO %I', i.relname,
                     part || substr(i.relname, length(fresh) + 1));
    END LOOP;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%L)',
                   parent, part, township);
    EXECUTE format('ANALYZE %I', part);
  ELSIF action = 'detach_drop' THEN
    IF to_regclass(part) IS NOT NULL THEN
      EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, part);
      EXECUTE format('DROP TABLE %I', part);
    END IF;
  ELSIF action = 'drop' THEN
    EXECUTE format('DROP TABLE IF EXISTS %I', part);
  ELSE
    RAISE EXCEPTION 'gridgis_partition: unknown action %', action
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF parent = 'household_assignments' THEN
    -- written only through the parent, whose statement triggers keep the
    -- scope keys (0160); and what the partition DDL changed, synced here
    IF to_regclass(part) IS NOT NULL THEN
      EXECUTE format('REVOKE ALL ON %I FROM {system}', part);
    END IF;
    IF action <> 'create' THEN
      PERFORM gridgis_scope_sync(township, NULL);
    END IF;
  END IF;
END $$;
"""

OLD_PARTITION_FUNCTION = """
CREATE OR REPLACE FUNCTION gridgis_partition(action text, parent text, township text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
  part text := parent || '_' || township;
  owner name;
BEGIN
  IF parent NOT IN ('households', 'household_assignments') THEN
    RAISE EXCEPTION 'gridgis_partition: no partitions of %', parent
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF township !~ '^[0-9]{12}$' THEN
    RAISE EXCEPTION 'gridgis_partition: township code % is not 12 digits', township
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF action = 'create' THEN
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES IN (%L)',
                   part, parent, township);
  ELSIF action = 'attach' OR action = 'attach_analyze' THEN
    SELECT c.relowner::regrole::name INTO owner FROM pg_class c
     WHERE c.oid = parent::regclass;
    EXECUTE format('ALTER TABLE %I OWNER TO %I', part, owner);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%L)',
                   parent, part, township);
    IF action = 'attach_analyze' THEN
      EXECUTE format('ANALYZE %I', part);
    END IF;
  ELSIF action = 'detach_drop' THEN
    IF to_regclass(part) IS NOT NULL THEN
      EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, part);
      EXECUTE format('DROP TABLE %I', part);
    END IF;
  ELSIF action = 'drop' THEN
    EXECUTE format('DROP TABLE IF EXISTS %I', part);
  ELSE
    RAISE EXCEPTION 'gridgis_partition: unknown action %', action
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
END $$;
"""

# existing assignments partitions: written through the parent only from now on
REVOKE_PARTITIONS = f"""
DO $$ DECLARE p record; BEGIN
  FOR p IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'household_assignments'::regclass LOOP
    EXECUTE format('REVOKE ALL ON %I FROM {SYSTEM}', p.relname);
  END LOOP;
END $$
"""


def _policies(rules: dict[str, dict[str, str]]) -> None:
    for short, tables in rules.items():
        for table, rule in tables.items():
            op.execute(
                f"ALTER POLICY {table}_scope_{short} ON {table}"
                f" USING ({TOWNSHIP_OK} AND ({rule}))"
            )


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        op.execute(
            f"ALTER TABLE {table} "
            + ", ".join(f"ADD COLUMN {c} bigint" for c in columns)
        )
    op.execute(SYNC)
    # the copies, before their indexes and guards (one bulk write per township)
    op.execute("SELECT gridgis_scope_sync(code, NULL) FROM townships")
    for name, (table, column) in INDEXES.items():
        # on the partitioned parent: every households partition gets one
        op.execute(f"CREATE INDEX {name} ON {table} ({column}, township_code)")
    op.execute(ASSIGNMENTS_CHANGED)
    op.execute(GUARDS)
    for name, events in STATEMENT_TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} {events} FOR EACH STATEMENT"
            " EXECUTE FUNCTION gridgis_assignments_changed()"
        )
    for name, table, events, when, function in TRIGGERS:
        # the owner's name goes into NOT_SYNC as a literal (format's %L)
        op.execute(
            f"""DO $$ BEGIN EXECUTE format(
              'CREATE TRIGGER {name} {events} ON {table} FOR EACH ROW'
              ' WHEN ({when.format(ns=NOT_SYNC).replace("'", "''")})'
              ' EXECUTE FUNCTION {function}()', current_user);
            END $$"""
        )
    op.execute(PARTITION_FUNCTION.replace('{system}', SYSTEM))
    op.execute(REVOKE_PARTITIONS)
    _policies(NEW_RULES)


def downgrade() -> None:
    _policies(OLD_RULES)
    op.execute(OLD_PARTITION_FUNCTION)
    op.execute(
        f"""DO $$ DECLARE p record; BEGIN
          FOR p IN SELECT c.relname FROM pg_inherits i
                   JOIN pg_class c ON c.oid = i.inhrelid
                   WHERE i.inhparent = 'household_assignments'::regclass LOOP
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO {SYSTEM}',
                           p.relname);
          END LOOP;
        END $$"""
    )
    for name, table, *_ in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON {table}")
    for name in STATEMENT_TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON household_assignments")
    for function in (
        'gridgis_assignments_changed()', 'gridgis_household_keys()',
        'gridgis_parcel_keys()', 'gridgis_parcel_moved()', 'gridgis_dispute_keys()',
        'gridgis_scope_sync(text, bigint[])',
    ):
        op.execute(f"DROP FUNCTION {function}")
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
    for table, columns in COLUMNS.items():
        op.execute(
            f"ALTER TABLE {table} " + ", ".join(f"DROP COLUMN {c}" for c in columns)
        )
