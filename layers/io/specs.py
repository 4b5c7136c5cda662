"""What each importable layer looks like: table, key, geometry and typed fields.

One declarative spec per layer drives reading, validation, the staging table,
the upsert, the read/edit API and the export, so the rules cannot drift apart.
Table and column names here are code constants (whitelisted identifiers); they
are the only identifiers ever composed into SQL.
"""

from __future__ import annotations

from gis_service.core.errors import NotFound
from gis_service.core.vocab import TAG_ALIASES, value_aliases
from grids.models import CADRE_ROLES, HOUSEHOLD_TAGS
from layers.io.fields import Field, LayerSpec, field_code
from layers.io.specs_hazards import HAZARDS, SHELTERS

__all__ = ["LAYERS", "Field", "LayerSpec", "get_layer"]

_PHONE = Field(
    "phone", max_len=20, personal=True, label="联系电话", example="13812345678",
    aliases=("电话", "联系电话", "手机号", "手机号码", "手机", "联系方式"),
)  # fmt: skip
_GK_POINT = "POINT (102.505 37.105)"
_SQUARE = "POLYGON ((102.5 37.1, 102.52 37.1, 102.52 37.12, 102.5 37.12, 102.5 37.1))"

LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (
        LayerSpec(
            "households",
            "households",
            "code",
            "Point",
            fields=(
                field_code("户号", ("户号", "户编号", "户码", "家庭编号"), "H0001"),
                Field(
                    "head_name",
                    required=True,
                    max_len=100,
                    label="户主姓名",
                    aliases=("户主", "户主姓名", "户主名", "name", "head", "姓名"),
                    example="多杰",
                ),
                Field(
                    "members",
                    "int",
                    default="1",
                    minimum=0,
                    maximum=999,
                    label="家庭人口",
                    aliases=("人口", "家庭人口", "人口数", "家庭人数", "人数"),
                    hints=("户籍人口", "常住人口"),
                    example="5",
                ),
                Field(
                    "village",
                    max_len=100,
                    label="所属村",
                    aliases=("村", "所属村", "村名", "行政村", "所在村"),
                    example="南泥沟村",
                ),
                Field(
                    "address",
                    max_len=200,
                    label="住址",
                    aliases=("住址", "地址", "家庭住址"),
                    example="南泥沟村3社12号",
                ),
                Field(
                    "tags",
                    "tags",
                    default="'{}'",
                    values=HOUSEHOLD_TAGS,
                    label="户类别",
                    aliases=("户类别", "户类型", "标签", "类别", "人员类别"),
                    value_aliases=tuple(TAG_ALIASES.items()),
                    example="低保、残疾",
                ),
                Field(
                    "id_number",
                    max_len=18,
                    personal=True,
                    check="gb11643",
                    label="身份证号",
                    aliases=("身份证号", "身份证号码", "户主身份证号", "公民身份号码"),
                    hints=("身份证", "证件号码"),
                    example="620623198001011230",
                ),
                _PHONE,
            ),
            filters=("grid", "tag", "village", "cadre"),
            read_only=("grid_code", "cadre_code"),
            label="农户",
            example_geometry=_GK_POINT,
        ),
        LayerSpec(
            "grids",
            "grids",
            "code",
            "MultiPolygon",
            fields=(
                field_code("网格编码", ("网格编码", "网格编号", "网格代码"), "G1-1"),
                Field(
                    "name",
                    required=True,
                    max_len=200,
                    label="网格名称",
                    aliases=("网格名称", "名称", "网格名"),
                    example="第1网格",
                ),
                Field(
                    "level",
                    required=True,
                    max_len=50,
                    label="层级",
                    aliases=("层级", "级别", "网格层级"),
                    example="grid",
                ),
                Field(
                    "parent_code",
                    max_len=64,
                    shp_name="parent",
                    label="上级网格编码",
                    aliases=("parent", "上级网格编码", "上级网格", "上级编码"),
                    hints=(
                        "parent_id",
                        "parentid",
                        "pid",
                        "parent_grid",
                        "上级",
                        "上级id",
                        "上级网格id",
                        "父网格",
                        "父级",
                        "所属网格",
                    ),
                    ref=("grids", "parent_id"),
                    example="G1",
                ),
            ),
            filters=("level", "parent"),
            read_only=("depth",),
            label="网格",
            example_geometry=_SQUARE,
        ),
        LayerSpec(
            "cadres",
            "cadres",
            "code",
            "Point",
            geometry_column="base",
            geometry_required=False,
            fields=(
                field_code("人员编号", ("人员编号", "工号", "网格员编号"), "C01"),
                Field(
                    "name",
                    required=True,
                    max_len=100,
                    label="姓名",
                    aliases=("姓名", "名字", "网格员", "网格员姓名"),
                    example="卓玛",
                ),
                Field(
                    "role",
                    "enum",
                    default="'grid_worker'",
                    values=CADRE_ROLES,
                    label="身份",
                    aliases=("身份", "角色", "职务", "类别"),
                    value_aliases=value_aliases("role"),
                    example="网格员",
                ),
                _PHONE,
                Field(
                    "home_grid_code",
                    max_len=64,
                    shp_name="home_grid",
                    label="所属网格编码",
                    aliases=(
                        "home_grid",
                        "grid_code",
                        "所属网格编码",
                        "所属网格",
                        "负责网格",
                        "网格编码",
                    ),
                    hints=("grid", "grid_id", "home_grid_id", "网格", "网格id"),
                    ref=("grids", "home_grid_id"),
                    example="G1-1",
                ),
                Field(
                    "capacity",
                    "int",
                    default="14",
                    minimum=0,
                    exclusive_min=True,
                    maximum=999,
                    label="联系户数上限",
                    aliases=("联系户数上限", "包户上限", "容量"),
                    example="14",
                ),
                Field(
                    "active",
                    "bool",
                    default="true",
                    label="在岗",
                    aliases=("在岗", "是否在岗"),
                    example="是",
                ),
            ),
            filters=("grid", "role"),
            label="网格员",
            example_geometry="POINT (102.51 37.11)",
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
                    label="合同编号",
                    aliases=("contract", "合同号", "合同编号", "承包合同编号"),
                    hints=("id", "code", "编号", "地块编码", "地块编号"),
                    example="HT-2019-001",
                ),
                Field(
                    "holder_code",
                    max_len=64,
                    shp_name="holder",
                    label="承包户户号",
                    aliases=(
                        "holder",
                        "承包户",
                        "承包户户号",
                        "承包户编号",
                        "承包方编码",
                    ),
                    hints=(
                        "holder_id",
                        "holderid",
                        "household",
                        "household_code",
                        "household_id",
                        "户号",
                        "户编号",
                        "承包方",
                        "承包人",
                        "承包户姓名",
                        "owner",
                    ),
                    ref=("households", "holder_household_id"),
                    example="H0001",
                ),
                Field(
                    "contract_area_mu",
                    "float",
                    minimum=0,
                    exclusive_min=True,
                    shp_name="area_mu",
                    label="承包面积(亩)",
                    aliases=(
                        "area_mu",
                        "承包面积",
                        "承包面积(亩)",
                        "面积(亩)",
                        "合同面积",
                    ),
                    hints=("area", "面积", "shape_area"),
                    sql_type="numeric(12,2)",
                    example="120.5",
                ),
            ),
            filters=("holder",),
            aliases=("parcels", "pasture"),
            label="草场地块",
            example_geometry=_SQUARE,
        ),
        HAZARDS,
        SHELTERS,
        LayerSpec(
            "roads",
            "roads",
            "code",
            "MultiLineString",
            fields=(
                field_code("道路编号", ("道路编号", "道路编码"), "R1"),
                Field(
                    "name",
                    max_len=200,
                    label="道路名称",
                    aliases=("道路名称", "名称"),
                    example="南泥沟路",
                ),
                Field(
                    "kind",
                    max_len=50,
                    label="道路类型",
                    aliases=("道路类型", "类型", "等级"),
                    example="村道",
                ),
            ),
            has_updated_at=False,
            filters=("kind",),
            label="道路",
            example_geometry="LINESTRING (102.5 37.1, 102.52 37.11)",
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
