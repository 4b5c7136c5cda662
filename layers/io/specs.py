"""What each importable layer looks like: table, key, geometry and typed fields.

One declarative spec per layer drives reading, validation, the staging table,
the upsert, the read/edit API and the export, so the rules cannot drift apart.
Table and column names here are code constants (whitelisted identifiers); they
are the only identifiers ever composed into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gis_service.core.errors import NotFound
from grids.models import CADRE_ROLES, HOUSEHOLD_TAGS
from grids.tree.locate import covering_grid_sql
from layers.models import (
    HAZARD_KIND_LABELS,
    HAZARD_KINDS,
    HAZARD_SEVERITIES,
    HAZARD_STATUSES,
    MAX_WARN_RADIUS_M,
)

# Field kinds: text, enum, int, float, bool, date, timestamp, tags.
SQL_TYPES = {
    "text": "text",
    "enum": "text",
    "int": "int",
    "float": "float8",
    "bool": "boolean",
    "date": "date",
    "timestamp": "timestamptz",
    "tags": "varchar[]",
}


@dataclass(frozen=True)
class Field:
    """One attribute: its type, limits and how files may name it."""

    name: str
    kind: str = "text"
    required: bool = False  # a new feature must have it
    default: str | None = None  # SQL literal used when a new feature lacks it
    max_len: int | None = None
    values: tuple[str, ...] = ()  # the enumeration (kind enum / tags)
    minimum: float | None = None
    exclusive_min: bool = False
    maximum: float | None = None  # smallint columns hold up to 32767
    personal: bool = False  # masked in every response
    aliases: tuple[str, ...] = ()
    shp_name: str | None = None  # <= 10 characters for the dBASE table
    ref: tuple[str, str] | None = None  # (table, id column) resolved by code
    sql_type: str | None = None  # the staging type when it differs from the kind's
    value_aliases: tuple[tuple[str, str], ...] = ()  # (word in files, enum value)

    @property
    def stage_type(self) -> str:
        """The column type in the staging table (matches the target column)."""
        return self.sql_type or SQL_TYPES[self.kind]

    @property
    def export_name(self) -> str:
        """The column name used in exported shapefiles."""
        return self.shp_name or self.name


@dataclass(frozen=True)
class LayerSpec:
    """A layer: table, external key, geometry and fields."""

    name: str
    table: str
    key: str
    geometry_kind: str  # Point | MultiPolygon | MultiLineString | PointOrPolygon
    geometry_column: str = "geom"
    geometry_required: bool = True
    fields: tuple[Field, ...] = ()
    has_updated_at: bool = True
    filters: tuple[str, ...] = ()  # attribute filters the list endpoint accepts
    read_only: tuple[str, ...] = ()  # output-only columns (ignored on import)
    computed: tuple[tuple[str, str], ...] = ()  # (column, SQL over stage row s)
    aliases: tuple[str, ...] = field(default=())
    view: str | None = None  # read from this view instead of ``table``
    # (field, endpoint): a status only its workflow endpoint may change
    workflow: tuple[str, str] | None = None

    @property
    def source(self) -> str:
        """What reads select from: the view when there is one, else the table."""
        return self.view or self.table

    def field(self, name: str) -> Field:
        """The field called ``name``."""
        return next(f for f in self.fields if f.name == name)

    @property
    def writable(self) -> tuple[Field, ...]:
        """Fields other than the key."""
        return tuple(f for f in self.fields if f.name != self.key)


_CODE = Field("code", required=True, max_len=64)
SEVERITY_WORDS = (("低", "low"), ("一般", "medium"), ("中", "medium"),
                  ("较大", "high"), ("高", "high"), ("重大", "critical"))  # fmt: skip

LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (
        LayerSpec(
            "households",
            "households",
            "code",
            "Point",
            fields=(
                _CODE,
                Field(
                    "head_name", required=True, max_len=100, aliases=("户主", "name")
                ),
                Field(
                    "members",
                    "int",
                    default="1",
                    minimum=0,
                    maximum=999,
                    aliases=("人口",),
                ),
                Field("village", max_len=100, aliases=("村",)),
                Field("address", max_len=200),
                Field("tags", "tags", default="'{}'", values=HOUSEHOLD_TAGS),
                Field("id_number", max_len=18, personal=True, aliases=("身份证号",)),
                Field("phone", max_len=20, personal=True, aliases=("电话",)),
            ),
            filters=("grid", "tag", "village", "cadre"),
            read_only=("grid_code", "cadre_code"),
            view="households_assigned",  # grid_id, cadre_id from the assignments
        ),
        LayerSpec(
            "grids",
            "grids",
            "code",
            "MultiPolygon",
            fields=(
                _CODE,
                Field("name", required=True, max_len=200),
                Field("level", required=True, max_len=50),
                Field(
                    "parent_code",
                    max_len=64,
                    shp_name="parent",
                    aliases=("parent",),
                    ref=("grids", "parent_id"),
                ),
            ),
            filters=("level", "parent"),
            read_only=("depth",),
        ),
        LayerSpec(
            "cadres",
            "cadres",
            "code",
            "Point",
            geometry_column="base",
            geometry_required=False,
            fields=(
                _CODE,
                Field("name", required=True, max_len=100),
                Field("role", "enum", default="'grid_worker'", values=CADRE_ROLES),
                Field("phone", max_len=20, personal=True),
                Field(
                    "home_grid_code",
                    max_len=64,
                    shp_name="home_grid",
                    aliases=("home_grid", "grid_code"),
                    ref=("grids", "home_grid_id"),
                ),
                Field(
                    "capacity",
                    "int",
                    default="14",
                    minimum=0,
                    exclusive_min=True,
                    maximum=999,
                ),
                Field("active", "bool", default="true"),
            ),
            filters=("grid", "role"),
        ),
        LayerSpec(
            "pasture_parcels",
            "pasture_parcels",
            "contract_no",
            "MultiPolygon",
            fields=(
                Field(
                    "contract_no",
                    required=True,
                    max_len=64,
                    shp_name="contract",
                    aliases=("contract", "合同号"),
                ),
                Field(
                    "holder_code",
                    max_len=64,
                    shp_name="holder",
                    aliases=("holder",),
                    ref=("households", "holder_household_id"),
                ),
                Field(
                    "contract_area_mu",
                    "float",
                    minimum=0,
                    exclusive_min=True,
                    shp_name="area_mu",
                    aliases=("area_mu", "承包面积"),
                    sql_type="numeric(12,2)",
                ),
            ),
            filters=("holder",),
            aliases=("parcels", "pasture"),
        ),
        LayerSpec(
            "hazards",
            "hazards",
            "code",
            "PointOrPolygon",
            fields=(
                _CODE,
                Field(
                    "kind",
                    "enum",
                    required=True,
                    values=HAZARD_KINDS,
                    aliases=("类型", "隐患类型"),
                    value_aliases=tuple((v, k) for k, v in HAZARD_KIND_LABELS.items()),
                ),
                Field(
                    "severity",
                    "enum",
                    default="'medium'",
                    values=HAZARD_SEVERITIES,
                    aliases=("等级",),
                    value_aliases=SEVERITY_WORDS,
                ),
                Field("status", "enum", default="'found'", values=HAZARD_STATUSES),
                Field("description", shp_name="descr", aliases=("descr", "描述")),
                Field(
                    "warn_radius_m",
                    "float",
                    minimum=0,
                    exclusive_min=True,
                    maximum=MAX_WARN_RADIUS_M,
                    shp_name="warn_r_m",
                    aliases=("warn_r_m", "预警半径"),
                ),
                Field("found_at", "timestamp", default="now()"),
                Field("deadline", "date", aliases=("整改期限",)),
                Field("closed_at", "timestamp"),
                Field(
                    "cadre_code",
                    max_len=64,
                    shp_name="cadre",
                    aliases=("cadre", "责任人"),
                    ref=("cadres", "cadre_id"),
                ),
            ),
            filters=("grid", "status", "kind", "severity"),
            read_only=("grid_code",),
            # The deepest grid holding all of it (a polygon across two grids gets
            # their parent); the leaf grids it touches are listed by the hazards API.
            computed=(("grid_id", covering_grid_sql("s")),),
            workflow=(
                "status",
                "POST /townships/{township}/hazards/{code}/transitions",
            ),
        ),
        LayerSpec(
            "shelters",
            "shelters",
            "code",
            "Point",
            fields=(
                _CODE,
                Field("name", required=True, max_len=200, aliases=("名称",)),
                Field("address", max_len=200, aliases=("地址",)),
                Field(
                    "capacity", "int", minimum=0, maximum=1_000_000, aliases=("容量",)
                ),
                Field("phone", max_len=20, aliases=("电话",)),
            ),
            aliases=("避险安置点",),
        ),
        LayerSpec(
            "roads",
            "roads",
            "code",
            "MultiLineString",
            fields=(
                _CODE,
                Field("name", max_len=200),
                Field("kind", max_len=50),
            ),
            has_updated_at=False,
            filters=("kind",),
        ),
    )
}


def get_layer(name: str) -> LayerSpec:
    """The spec of layer ``name`` (or one of its aliases), else 404."""
    for spec in LAYERS.values():
        if name == spec.name or name in spec.aliases:
            return spec
    raise NotFound(
        f"layer {name!r} does not exist; expected one of {', '.join(LAYERS)}",
        errors=[{"field": "layer", "reason": f"one of {', '.join(LAYERS)}"}],
    )
