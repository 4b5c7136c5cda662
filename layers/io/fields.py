"""The declarative types of layer specs: a field and a layer.

Kept apart from the specs themselves (``specs.py``) so either stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    aliases: tuple[str, ...] = ()  # other headers that certainly mean this field
    hints: tuple[str, ...] = ()  # headers that may mean it: named, never used
    label: str = ""  # the Chinese header (templates, messages)
    example: str = ""  # a value for the template's example row
    value_aliases: tuple[tuple[str, str], ...] = ()  # (word, value) for enum/tags
    check: str | None = None  # "gb11643": a resident ID number
    shp_name: str | None = None  # <= 10 characters for the dBASE table
    ref: tuple[str, str] | None = None  # (table, id column) resolved by code
    sql_type: str | None = None  # the staging type when it differs from the kind's

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
    label: str = ""  # the Chinese name of the layer
    example_geometry: str = ""  # WKT of the template's example row

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


def field_code(label: str, aliases: tuple[str, ...], example: str) -> Field:
    """The key field ``code`` under the names a layer's files give it."""
    return Field(
        "code",
        required=True,
        max_len=64,
        label=label,
        aliases=(*aliases, "编码", "编号"),
        hints=("id", "fid", "objectid", "序号"),
        example=example,
    )
