"""The hazards and shelters layers: points or polygons, kinds, severities, radii.

Kept apart from ``layers.io.specs`` (which assembles every layer) so no module
passes 400 lines; the hazard workflow owns ``status`` (import and PATCH refuse it).
"""

from __future__ import annotations

from gis_service.core.vocab import value_aliases
from grids.tree.locate import covering_grid_sql
from layers.io.fields import Field, LayerSpec, field_code
from layers.models import (
    HAZARD_KIND_LABELS,
    HAZARD_KINDS,
    HAZARD_SEVERITIES,
    HAZARD_STATUSES,
    MAX_WARN_RADIUS_M,
)

_DESCRIPTION = Field(
    "description", shp_name="descr", label="描述", example="村后山坡有裂缝",
    aliases=("descr", "描述", "隐患描述", "说明"),
)  # fmt: skip
_WARN_RADIUS = Field(
    "warn_radius_m", "float", minimum=0, exclusive_min=True,
    maximum=MAX_WARN_RADIUS_M, shp_name="warn_r_m", label="预警半径(米)",
    aliases=("warn_r_m", "预警半径", "预警半径(米)", "预警半径(m)"), example="500",
)  # fmt: skip
_FOUND_AT = Field(
    "found_at", "timestamp", default="now()", label="发现时间",
    aliases=("发现时间", "发现日期"), example="2026-05-01 09:30",
)  # fmt: skip
_DEADLINE = Field(
    "deadline", "date", label="整改期限", aliases=("整改期限", "期限", "截止日期"),
    example="2026-06-30",
)  # fmt: skip
_CLOSED_AT = Field(
    "closed_at", "timestamp", label="销号时间", aliases=("销号时间", "关闭时间"),
)  # fmt: skip
SEVERITY_WORDS = (("低", "low"), ("一般", "medium"), ("中", "medium"),
                  ("较大", "high"), ("高", "high"), ("重大", "critical"))  # fmt: skip

HAZARDS = LayerSpec(
    "hazards",
    "hazards",
    "code",
    "PointOrPolygon",
    fields=(
        field_code("隐患编号", ("隐患编号", "隐患编码"), "Z01"),
        Field(
            "kind",
            "enum",
            required=True,
            values=HAZARD_KINDS,
            label="隐患类型",
            aliases=("隐患类型", "类型", "灾害类型"),
            value_aliases=(
                *((v, k) for k, v in HAZARD_KIND_LABELS.items()),
                *value_aliases("hazard_kind"),
            ),
            example="滑坡",
        ),
        Field(
            "severity",
            "enum",
            default="'medium'",
            values=HAZARD_SEVERITIES,
            label="等级",
            aliases=("等级", "风险等级", "严重程度", "级别"),
            value_aliases=SEVERITY_WORDS,
            example="较大",
        ),
        Field(
            "status",
            "enum",
            default="'found'",
            values=HAZARD_STATUSES,
            label="状态",
            aliases=("状态", "整改状态"),
            value_aliases=value_aliases("hazard_status"),
            example="已发现",
        ),
        _DESCRIPTION,
        _WARN_RADIUS,
        _FOUND_AT,
        _DEADLINE,
        _CLOSED_AT,
        Field(
            "cadre_code",
            max_len=64,
            shp_name="cadre",
            label="责任人编号",
            aliases=("cadre", "责任人"),
            ref=("cadres", "cadre_id"),
        ),
    ),
    filters=("grid", "status", "kind", "severity"),
    read_only=("grid_code",),
    # The deepest grid holding all of it (a polygon across two grids gets
    # their parent); the leaf grids it touches are listed by the hazards API.
    computed=(("grid_id", covering_grid_sql("s")),),
    label="隐患点",
    example_geometry="POINT (102.51 37.11)",
    workflow=(
        "status",
        "POST /townships/{township}/hazards/{code}/transitions",
    ),
)

SHELTERS = LayerSpec(
    "shelters",
    "shelters",
    "code",
    "Point",
    fields=(
        field_code("安置点编号", ("安置点编号",), "S1"),
        Field("name", required=True, max_len=200, aliases=("名称",)),
        Field("address", max_len=200, aliases=("地址",)),
        Field("capacity", "int", minimum=0, maximum=1_000_000, aliases=("容量",)),
        Field("phone", max_len=20, aliases=("电话",)),
    ),
    aliases=("避险安置点",),
    label="避险安置点",
    example_geometry="POINT (102.51 37.11)",
)
