"""One source of truth for each table's columns: the ORM models.

Migrations own the real schema; the ORM models are checked against the
migrated database (alembic's compare_metadata finds nothing), and everything
else that names columns is checked against, or generated from, the models: the
layer specs (types, lengths, nullability, enumerations), the demo loader's and
the test factories' INSERT column lists.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import (
    ARRAY,
    Boolean,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    Numeric,
    String,
    Table,
    Text,
)

from geoalchemy2 import Geometry

import gis_service.app.all_models  # noqa: F401  (every model registered)
from gis_service.core.db import Base
from gis_service.core.models import (
    MODEL_COLUMNS,
    SCOPE_KEYS,
    insert_columns,
    table_of,
)
from layers.io.specs import LAYERS, Field, LayerSpec

ROOT = Path(__file__).resolve().parents[2]

# What compare_metadata reports that is not drift, and why:
# - households is LIST-partitioned by township (0070): each partition
#   (households_<code>, households_default) and household_assignments' partitions
#   are tables the ORM does not model, and PostgreSQL adds one foreign key per
#   partition to the tables referencing households; the parent tables and their
#   own constraints are compared like any other.
# - households_assigned is a view (0060/0070), not a table.
# - spatial_ref_sys and the other PostGIS/topology tables belong to the extension.
# - alembic_version is alembic's own.
IGNORED_TABLES = {"spatial_ref_sys", "alembic_version", "households_assigned"}
IGNORED_PREFIXES = ("households_", "household_assignments_")


def _include_object(
    obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any
) -> bool:
    table = (
        name if kind == "table" else getattr(getattr(obj, "table", None), "name", "")
    )
    if not table:
        return True
    if table in IGNORED_TABLES or table.startswith(IGNORED_PREFIXES):
        return False
    if kind == "foreign_key_constraint" and reflected:
        # PostgreSQL adds a constraint per partition under a partitioned target
        referred = {fk.column.table.name for fk in obj.elements}
        if any(t.startswith(IGNORED_PREFIXES) for t in referred):
            return False
    if kind == "table" and reflected and compare_to is None:
        # tables of the PostGIS extension schema objects (topology, tiger, ...)
        return table in Base.metadata.tables
    return True


def test_orm_models_match_the_migrated_database(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_object": _include_object,
                "compare_type": True,
                "compare_server_default": False,
            },
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], "ORM models and migrations disagree:\n" + "\n".join(
        map(str, diff)
    )


KINDS: dict[str, tuple[type, ...]] = {
    "text": (String, Text),
    "enum": (String,),
    "int": (Integer,),
    "float": (Float, Numeric),
    "bool": (Boolean,),
    "date": (Date,),
    "timestamp": (DateTime,),
    "tags": (ARRAY,),
}


def _fields() -> list[tuple[LayerSpec, Field]]:
    return [(spec, f) for spec in LAYERS.values() for f in spec.fields]


@pytest.mark.parametrize(
    ("spec", "field"), _fields(), ids=lambda x: getattr(x, "name", str(x))
)
def test_layer_spec_field_agrees_with_its_orm_column(
    spec: LayerSpec, field: Field
) -> None:
    table: Table = table_of(spec.table)
    column_name = field.ref[1] if field.ref else field.name
    assert column_name in table.c, f"{spec.name}.{field.name}: no column {column_name}"
    column = table.c[column_name]
    if field.ref:
        assert isinstance(column.type, Integer)  # an id resolved from the code
        assert field.ref[0] in {fk.column.table.name for fk in column.foreign_keys}
    else:
        assert isinstance(column.type, KINDS[field.kind]), (
            f"{spec.name}.{field.name}: {field.kind} but the column is {column.type}"
        )
        length = getattr(column.type, "length", None)
        if field.kind == "text" and length is not None:
            assert field.max_len == length, f"{spec.name}.{field.name} length"
        if field.kind == "enum":  # the values bound the length
            assert length is not None
            assert max(map(len, field.values)) <= length
    # a NOT NULL column is required or has a default (spec's or the database's)
    if not column.nullable:
        assert field.required or field.default or column.server_default is not None, (
            f"{spec.name}.{field.name} is NOT NULL but neither required nor defaulted"
        )
    if field.required:
        assert not column.nullable, f"{spec.name}.{field.name} required but nullable"


@pytest.mark.parametrize("spec", list(LAYERS.values()), ids=lambda s: s.name)
def test_layer_spec_geometry_and_extras_agree(spec: LayerSpec) -> None:
    table = table_of(spec.table)
    geom = table.c[spec.geometry_column]
    assert isinstance(geom.type, Geometry)
    mixed = {"POINTORPOLYGON": "GEOMETRY"}  # a hazard is a point or an area
    kind = spec.geometry_kind.upper()
    assert geom.type.geometry_type == mixed.get(kind, kind)
    assert geom.type.srid == 4326
    assert geom.nullable is not spec.geometry_required
    for column, _sql in spec.computed:
        assert column in table.c
    assert ("updated_at" in table.c) is spec.has_updated_at
    assert spec.key in table.c


def test_every_layer_column_is_in_its_spec() -> None:
    """A column added to a model must be added to its layer's spec (or listed)."""
    managed = {"id", "township_code", "created_at", "updated_at"}
    for spec in LAYERS.values():
        table = table_of(spec.table)
        named = {f.ref[1] if f.ref else f.name for f in spec.fields}
        named |= {spec.geometry_column} | {c for c, _ in spec.computed}
        # set by the services, not imported
        derived = {"depth", "path", "grid_id", "cadre_id", "last_checked_at"}
        derived |= SCOPE_KEYS.get(spec.table, frozenset())  # kept by triggers
        extra = set(table.c.keys()) - named - managed - derived
        assert extra == set(), f"{spec.table}: columns missing from the spec"


def test_insert_columns_follow_the_model() -> None:
    households = insert_columns("households")
    assert households[0] == "township_code"
    assert "id" not in households and "created_at" not in households
    assert set(households) == set(table_of("households").c.keys()) - {
        "id",
        "created_at",
        "updated_at",
        "grid_id",  # the scope keys the database keeps (0160)
        "cadre_id",
    }


INSERT = re.compile(r"INSERT INTO (\w+)\s*\(([^)]*)\)", re.IGNORECASE)
FRAGMENTS = re.compile(r"\{\{(\w+):(\w+)\}\}")
JOINED = re.compile(r"[\"']\s*\n\s*f?[\"']")  # "a " "b" across lines: one string
# Migration tests write the schema of an older revision on purpose.
OLD_SCHEMA = {"tests/grids/test_assignment_store.py"}


def _sources() -> list[Path]:
    roots = [ROOT / p for p in ("gis_service", "grids", "layers", "maps", "tests")]
    return [
        p for r in roots for p in sorted(r.rglob("*")) if p.suffix in (".py", ".sql")
    ]


def test_every_insert_column_list_names_model_columns() -> None:
    """The demo SQL, services and test factories INSERT only columns the models have."""
    checked, wrong = 0, []
    for path in _sources():
        if str(path.relative_to(ROOT)) in OLD_SCHEMA:
            continue
        body = FRAGMENTS.sub(
            lambda m: (
                MODEL_COLUMNS[m.group(1)](m.group(2))
                if m.group(1) in MODEL_COLUMNS
                else ""
            ),
            JOINED.sub("", path.read_text(encoding="utf-8")),
        )
        for table, columns in INSERT.findall(body):
            if table not in Base.metadata.tables:
                continue  # staging and temporary tables
            checked += 1
            names = [c.strip() for c in columns.split(",") if c.strip()]
            unknown = set(names) - set(table_of(table).c.keys())
            if unknown:
                wrong.append(f"{path.relative_to(ROOT)}: {table} {sorted(unknown)}")
    assert wrong == []
    assert checked >= 20  # the scan really reads the loaders and factories


def test_demo_straight_copies_take_the_model_columns() -> None:
    from gis_service.app.demo import load

    households = str(load._INSERT["step_04"])
    assert f"({', '.join(['township_code', *insert_columns('households')[1:]])})" in (
        households
    )
    assert "address" in households  # a model column the old hand list had missed
    stage = " ".join(str(q) for q in load._STAGE.values())
    assert "geom geometry(POINT,4326)" in stage


def test_delete_refusals_come_from_the_foreign_keys() -> None:
    """The editing reference table is the models' non-cascading foreign keys."""
    from layers.io.editing import references

    assert [r[:2] for r in references("grids")] == [
        ("cadres", "home_grid_id"),
        ("grids", "parent_id"),
        ("hazards", "grid_id"),
        ("household_assignments", "grid_id"),
    ]
    assert references("households") == (
        ("pasture_parcels", "holder_household_id", "pasture parcels"),
    )
    assert [r[0] for r in references("cadres")] == [
        "demands",
        "hazards",  # hazards.cadre_id (0090): covered with no list to update
        "household_assignments",
        "visits",
    ]
    assert references("pasture_parcels") == ()  # disputes and findings cascade
