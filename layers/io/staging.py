"""SQL of an import, composed once per layer from its spec.

Every identifier comes from ``layers/specs.py`` (code constants, never a request);
every value is a bound parameter (``:t`` is the township). The statements work on
one temporary staging table filled by COPY:

* ``checks``: polygon validity (``ST_IsValidReason``), references by code, and
  required fields a new feature lacks, each one set-based SELECT;
* ``repair``: ``ST_MakeValid`` on the invalid rows, returning what changed;
* ``update`` then ``insert``: the upsert by external code, as one UPDATE ... FROM
  of the rows that exist and changed, and one INSERT ... SELECT of the new ones
  (an anti-join), each returning the ids it wrote.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import TextClause, text

from layers.io.specs import Field, LayerSpec

STAGE = "_stage_import"
GEOMETRY = "geometry"  # marks a file that carries geometries in ``present``

# Repairs extract this dimension (a point is always valid, so only polygons of a
# PointOrPolygon layer are ever repaired).
_GEOMETRY_DIMENSION = {
    "Point": 1, "MultiLineString": 2, "MultiPolygon": 3, "PointOrPolygon": 3,
}  # fmt: skip


def stage_ddl(spec: LayerSpec) -> list[TextClause]:
    """Create the staging table with every field (absent ones stay NULL)."""
    columns = ["_idx int"]
    for f in spec.fields:
        columns.append(f"{f.name} {f.stage_type}")
        if f.personal:
            columns.append(f"{f.name}__keep boolean")
    columns.append("geom geometry(Geometry, 4326)")  # WKB without SRID gets 4326
    return [
        text(f"DROP TABLE IF EXISTS {STAGE}"),
        text(f"CREATE TEMP TABLE {STAGE} ({', '.join(columns)}) ON COMMIT DROP"),
    ]


def _ref_alias(f: Field) -> str:
    return f"r_{f.name}"


def _ref_joins(spec: LayerSpec, present: frozenset[str]) -> str:
    """Each referenced row, by code (NULL when the code is unknown or absent)."""
    parts = []
    for f in spec.fields:
        if f.ref is not None and f.name in present:
            alias = _ref_alias(f)
            parts.append(
                f"LEFT JOIN {f.ref[0]} {alias} ON {alias}.township_code = :t "
                f"AND {alias}.code = s.{f.name}"
            )
    return "\n".join(parts)


def _column_value(f: Field, present: frozenset[str]) -> tuple[str, str]:
    """(target column, value expression) of one field: from the file, or kept."""
    if f.ref is not None:
        column = f.ref[1]
        return column, (f"{_ref_alias(f)}.id" if f.name in present else f"cur.{column}")
    if f.name not in present:
        value = f"cur.{f.name}"
    elif f.personal:
        value = f"CASE WHEN s.{f.name}__keep THEN cur.{f.name} ELSE s.{f.name} END"
    else:
        value = f"s.{f.name}"
    if f.default is not None:
        value = f"COALESCE({value}, {f.default})"
    return f.name, value


def _pairs(spec: LayerSpec, present: frozenset[str]) -> list[tuple[str, str]]:
    """(column, value over stage row ``s`` and current row ``cur``) of every write."""
    pairs = [_column_value(f, present) for f in spec.writable]
    pairs.append((spec.geometry_column, _geometry_value(spec, present)))
    return pairs + list(spec.computed)


def _ids(statement: str, returning: str = "id") -> str:
    """Wrap a data-modifying statement into one array of the ids it wrote."""
    return (
        f"WITH w AS ({statement}\nRETURNING {returning} AS id)\n"
        "SELECT coalesce(array_agg(id), '{}') FROM w"
    )


@cache
def update(spec: LayerSpec, present: frozenset[str]) -> TextClause:
    """UPDATE the existing rows the file changes; returns their ids.

    Together with ``insert`` this is the upsert. A plain UPDATE and a plain
    INSERT over an anti-join cost the server about a sixth less than one
    INSERT ... ON CONFLICT, whose speculative insertion checks the arbiter index
    row by row; ``IMPORT_LOCK`` keeps two imports from racing for a new code.
    """
    pairs = _pairs(spec, present)
    sets = [f"{c} = {v}" for c, v in pairs]
    if spec.has_updated_at:
        sets.append("updated_at = now()")
    return text(
        _ids(
            f"UPDATE {spec.table} cur SET {', '.join(sets)}\n"
            f"FROM {STAGE} s\n{_ref_joins(spec, present)}\n"
            f"WHERE cur.township_code = :t AND cur.{spec.key} = s.{spec.key}\n"
            f"AND ({', '.join(f'cur.{c}' for c, _ in pairs)}) IS DISTINCT FROM "
            f"({', '.join(v for _, v in pairs)})",
            returning="cur.id",
        )
    )


@cache
def insert(spec: LayerSpec, present: frozenset[str]) -> TextClause:
    """INSERT the rows whose code the township does not have yet; returns ids."""
    pairs = _pairs(spec, present)
    return text(
        _ids(
            f"INSERT INTO {spec.table} "
            f"(township_code, {spec.key}, {', '.join(c for c, _ in pairs)})\n"
            f"SELECT :t, s.{spec.key}, {', '.join(v for _, v in pairs)}\n"
            f"FROM {STAGE} s\n"
            f"LEFT JOIN {spec.table} cur ON cur.township_code = :t "
            f"AND cur.{spec.key} = s.{spec.key}\n{_ref_joins(spec, present)}\n"
            "WHERE cur.id IS NULL"
        )
    )


# Imports into one table of one township run one at a time: the second waits,
# then finds the first one's rows as existing (no unique violation mid-import).
IMPORT_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:lock))")


def import_lock(spec: LayerSpec, township: str) -> dict[str, str]:
    """The parameters of ``IMPORT_LOCK`` for one layer of one township."""
    return {"lock": f"import:{spec.table}:{township}"}


def _geometry_value(spec: LayerSpec, present: frozenset[str]) -> str:
    """The file's geometry, or the stored one when the file has none at all."""
    return "s.geom" if GEOMETRY in present else f"cur.{spec.geometry_column}"


def checks(spec: LayerSpec, present: frozenset[str]) -> list[TextClause]:
    """SELECTs of (_idx, code, field, reason) for what only the database can tell."""
    key = spec.key
    out = []
    if spec.geometry_kind != "Point":  # a point with finite coordinates is valid
        out.append(
            text(
                f"SELECT _idx, {key} AS code, 'geometry' AS field, "
                "'invalid geometry: ' || ST_IsValidReason(geom) AS reason "
                f"FROM {STAGE} WHERE geom IS NOT NULL AND NOT ST_IsValid(geom)"
            )
        )
    for f in spec.fields:
        if f.ref is not None and f.name in present:
            table = f.ref[0]
            noun = {"grids": "grid", "households": "household"}.get(table, table)
            same_file = (
                f" AND NOT EXISTS (SELECT 1 FROM {STAGE} o WHERE o.{key} = s.{f.name})"
                if table == spec.table
                else ""
            )
            out.append(
                text(
                    f"SELECT s._idx, s.{key}, '{f.name}', "
                    f"'unknown {noun} ' || s.{f.name} FROM {STAGE} s "
                    f"WHERE s.{f.name} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                    f"{table} r WHERE r.township_code = :t AND r.code = s.{f.name})"
                    f"{same_file}"
                )
            )
            if table == spec.table:
                out.append(
                    text(
                        f"SELECT _idx, {key}, '{f.name}', 'a feature cannot be its own "
                        f"parent' FROM {STAGE} WHERE {f.name} = {key}"
                    )
                )
        elif f.required and f.name != key and f.name not in present:
            out.append(
                _needed_by_new(
                    spec,
                    f.name,
                    f"{f.name} column ({f.label or f.name})",
                    f"; name it with --map {f.name}=COLUMN",
                )
            )
    if spec.geometry_required and GEOMETRY not in present:
        out.append(_needed_by_new(spec, GEOMETRY, "geometry (lon/lat or WKT)"))
    if spec.workflow is not None and spec.workflow[0] in present:
        name, endpoint = spec.workflow
        head, tail = endpoint.split("{township}", 1)
        middle, rest = tail.split("{code}", 1)
        reason = (
            f"'{name} changes only through the workflow: {head}' || :t || "
            f"'{middle}' || s.{key} || '{rest} (was ' || cur.{name} || ', got ' || "
            f"s.{name} || '); import and PATCH cannot change it'"
        )
        out.append(
            text(
                f"SELECT s._idx, s.{key}, '{name}', {reason} FROM {STAGE} s "
                f"JOIN {spec.table} cur ON cur.township_code = :t "
                f"AND cur.{key} = s.{key} "
                f"WHERE s.{name} IS NOT NULL AND s.{name} <> cur.{name}"
            )
        )
    return out


def _needed_by_new(
    spec: LayerSpec, name: str, what: str, advice: str = ""
) -> TextClause:
    """One row when features would be inserted although the file lacks ``what``."""
    return text(
        f"SELECT NULL::int, NULL::text, '{name}', 'the file has no {what}, which ' "
        f"|| count(*) || ' new feature(s) need{advice}', count(*) FROM {STAGE} s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {spec.table} c WHERE c.township_code = :t "
        f"AND c.{spec.key} = s.{spec.key}) HAVING count(*) > 0"
    )


@cache
def repair(spec: LayerSpec) -> TextClause:
    """ST_MakeValid the invalid rows (kept at 1e-7°); return what changed."""
    dim = _GEOMETRY_DIMENSION[spec.geometry_kind]
    fixed = (
        f"ST_CollectionExtract(ST_ReducePrecision(ST_MakeValid(s.geom), 1e-7), {dim})"
    )
    if dim > 1:
        fixed = f"ST_Multi({fixed})"
    return text(
        f"WITH bad AS (SELECT _idx, ST_IsValidReason(geom) AS reason, "
        f"ST_NPoints(geom) AS points FROM {STAGE} "
        f"WHERE geom IS NOT NULL AND NOT ST_IsValid(geom)) "
        f"UPDATE {STAGE} s SET geom = {fixed} FROM bad WHERE s._idx = bad._idx "
        f"RETURNING s._idx, s.{spec.key} AS code, bad.reason, bad.points, "
        f"ST_NPoints(s.geom) AS points_after, ST_NumGeometries(s.geom) AS parts, "
        f"ST_Area(s.geom::geography) AS area_m2, ST_IsEmpty(s.geom) AS empty"
    )


MOVED_HOUSEHOLDS = text(
    f"SELECT cur.id FROM {STAGE} s JOIN households cur ON cur.township_code = :t "
    "AND cur.code = s.code WHERE cur.geom IS DISTINCT FROM s.geom"
)

# Grids whose parent is new in the same file get it once every row exists.
GRID_PARENTS = text(
    f"UPDATE grids g SET parent_id = p.id, updated_at = now() FROM {STAGE} s "
    "JOIN grids p ON p.township_code = :t AND p.code = s.parent_code "
    "WHERE g.township_code = :t AND g.code = s.code "
    "AND g.parent_id IS DISTINCT FROM p.id RETURNING g.id"
)

# depth and '/id/id/' paths for the whole township's tree (grids are few);
# returns how many grids the tree does not reach (a parent cycle).
GRID_TREE = text(
    """
    WITH RECURSIVE tree AS (
      SELECT id, 0 AS depth, '/' || id || '/' AS path FROM grids
       WHERE township_code = :t AND parent_id IS NULL
      UNION ALL
      SELECT g.id, tree.depth + 1, tree.path || g.id || '/'
        FROM grids g JOIN tree ON g.parent_id = tree.id WHERE g.township_code = :t),
    moved AS (
      UPDATE grids g SET depth = tree.depth, path = tree.path FROM tree
       WHERE g.id = tree.id
         AND (g.depth, g.path) IS DISTINCT FROM (tree.depth, tree.path)
      RETURNING g.id)
    SELECT g.code FROM grids g WHERE g.township_code = :t
       AND NOT EXISTS (SELECT 1 FROM tree WHERE tree.id = g.id)
    ORDER BY g.code
    """
)
