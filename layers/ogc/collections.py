"""What each OGC collection serves: its rows as one SQLAlchemy select per township.

A collection id is ``{township}.{kind}`` (``620623101000.households``): GDAL and
QGIS show one layer per id, each with its own extent, and a township's staff see
their own layers side by side. Every source selects ``id``, ``geom`` (EPSG:4326,
the bare indexed column wherever the geometry is stored) and the properties
below; property names here are the only identifiers a request can reach.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Double, Select, and_, cast, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Subquery

from gis_service.core.errors import NotFound
from gis_service.core.privacy import mask_id_number, mask_phone
from grids.models import (
    Cadre,
    Demand,
    Grid,
    Household,
    Visit,
)
from layers.models import Dispute, Hazard, PastureParcel, Road
from layers.ogc.status_sources import uncovered as _uncovered
from layers.ogc.status_sources import visit_status as _visit_status

CLOSED_DISPUTES = ("resolved", "dismissed", "closed")


@dataclass(frozen=True)
class Prop:
    """One property: JSON Schema type, Chinese title, and masking if personal."""

    name: str
    type: str  # string | integer | number | boolean | date | date-time | tags
    title: str
    mask: Callable[[str | None], str | None] | None = None
    enum: tuple[str, ...] = ()

    @property
    def queryable(self) -> bool:
        """Personal data is never filterable or sortable (a filter is an oracle)."""
        return self.mask is None


@dataclass(frozen=True)
class Kind:
    """A layer served for every township: where its rows come from, what they hold."""

    name: str
    title: str
    geometry_type: str
    props: tuple[Prop, ...]
    build: Callable[..., Select[Any]]  # (township, session[, as_of])
    temporal: str | None = None  # the property ``datetime`` filters on
    tiles: bool = False
    extent_of: str | None = None  # the base table whose extent bounds this one
    # build takes ``as_of``: the rows are a state at a moment (tiles: ``datetime``)
    as_of: bool = False

    def source(
        self, township: str, session: Session, *, as_of: datetime | None = None
    ) -> Subquery:
        """The township's rows as a subquery ``t`` (PostgreSQL flattens it)."""
        if self.as_of:
            return self.build(township, session, as_of).subquery("t")
        return self.build(township, session).subquery("t")

    def prop(self, name: str) -> Prop | None:
        """The property called ``name``, if any."""
        return next((p for p in self.props if p.name == name), None)

    @property
    def queryables(self) -> tuple[Prop, ...]:
        """Properties usable in filters, CQL2 and sortby."""
        return tuple(p for p in self.props if p.queryable)


def _code_of(model: Any, id_col: Any, township: str) -> Any:
    """A scalar subquery: the code of the referenced row (ids are internal)."""
    return (
        select(model.code)
        .where(model.township_code == township, model.id == id_col)
        .scalar_subquery()
    )


def _grids(township: str, _: Session) -> Select[Any]:
    parent = Grid.__table__.alias("p")
    return select(
        Grid.id, Grid.code, Grid.name, Grid.level, Grid.depth,
        select(parent.c.code).where(
            parent.c.township_code == township, parent.c.id == Grid.parent_id
        ).scalar_subquery().label("parent"),
        Grid.geom,
    ).where(Grid.township_code == township)  # fmt: skip


def _households(township: str, _: Session) -> Select[Any]:
    # grid and cadre from the household's own copy (migration 0160), not a join
    # of the partitioned assignments, which PostgreSQL cannot remove
    return select(
        Household.id,
        Household.code,
        Household.head_name,
        Household.members,
        Household.village,
        Household.address,
        Household.tags,
        Household.id_number,
        Household.phone,
        _code_of(Grid, Household.grid_id, township).label("grid"),
        _code_of(Cadre, Household.cadre_id, township).label("cadre"),
        Household.geom,
    ).where(Household.township_code == township)


def _cadres(township: str, _: Session) -> Select[Any]:
    return select(
        Cadre.id, Cadre.code, Cadre.name, Cadre.role, Cadre.phone,
        _code_of(Grid, Cadre.home_grid_id, township).label("home_grid"),
        Cadre.capacity, Cadre.active, Cadre.base.label("geom"),
    ).where(Cadre.township_code == township)  # fmt: skip


def _parcels(township: str, _: Session) -> Select[Any]:
    return select(
        PastureParcel.id, PastureParcel.contract_no,
        _code_of(Household, PastureParcel.holder_household_id, township).label(
            "holder"
        ),
        cast(PastureParcel.contract_area_mu, Double).label("contract_area_mu"),
        PastureParcel.geom,
    ).where(PastureParcel.township_code == township)  # fmt: skip


def _hazards(township: str, _: Session) -> Select[Any]:
    columns: list[Any] = [
        Hazard.id, Hazard.code, Hazard.kind, Hazard.severity, Hazard.status,
        Hazard.description, Hazard.warn_radius_m, Hazard.found_at, Hazard.deadline,
        Hazard.closed_at, _code_of(Grid, Hazard.grid_id, township).label("grid"),
        Hazard.geom,
    ]  # fmt: skip
    return select(*columns).where(Hazard.township_code == township)


def _roads(township: str, _: Session) -> Select[Any]:
    return select(Road.id, Road.code, Road.name, Road.kind, Road.geom).where(
        Road.township_code == township
    )


def _disputes(township: str, _: Session) -> Select[Any]:
    return select(
        Dispute.id, Dispute.status,
        select(PastureParcel.contract_no).where(
            PastureParcel.township_code == township,
            PastureParcel.id == Dispute.parcel_a_id,
        ).scalar_subquery().label("parcel_a"),
        select(PastureParcel.contract_no).where(
            PastureParcel.township_code == township,
            PastureParcel.id == Dispute.parcel_b_id,
        ).scalar_subquery().label("parcel_b"),
        Dispute.overlap_area_m2, Dispute.first_detected_at,
        Dispute.last_detected_at, Dispute.overlap.label("geom"),
    ).where(
        Dispute.township_code == township,
        Dispute.status.not_in(CLOSED_DISPUTES),
    )  # fmt: skip


def _visits(township: str, _: Session) -> Select[Any]:
    return (
        select(
            Visit.id,
            Household.code.label("household"),
            _code_of(Cadre, Visit.cadre_id, township).label("cadre"),
            Visit.visited_at,
            Visit.purpose,
            Visit.notes,
            (Visit.fix.is_not(None)).label("has_fix"),
            Household.geom,
        )
        .join(
            Household,
            and_(
                Household.township_code == township,
                Household.id == Visit.household_id,
            ),
        )
        .where(Visit.township_code == township)
    )


def _demands(township: str, _: Session) -> Select[Any]:
    return (
        select(
            Demand.id,
            Household.code.label("household"),
            Demand.category,
            Demand.description,
            Demand.status,
            Demand.due_date,
            _code_of(Cadre, Demand.owner_cadre_id, township).label("owner_cadre"),
            Demand.created_at,
            Demand.resolved_at,
            Household.geom,
        )
        .join(
            Household,
            and_(
                Household.township_code == township,
                Household.id == Demand.household_id,
            ),
        )
        .where(Demand.township_code == township)
    )


STATUS_TITLE = "状态"
VISIT_STATUSES = ("visited", "overdue", "never_visited", "unassigned")
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "grids", "网格", "MultiPolygon",
            (
                Prop("code", "string", "编码"), Prop("name", "string", "名称"),
                Prop("level", "string", "层级"), Prop("depth", "integer", "深度"),
                Prop("parent", "string", "上级网格"),
            ),
            _grids, tiles=True, extent_of="grids",
        ),
        Kind(
            "households", "户", "Point",
            (
                Prop("code", "string", "户编码"), Prop("head_name", "string", "户主"),
                Prop("members", "integer", "人口"), Prop("village", "string", "村"),
                Prop("address", "string", "地址"), Prop("tags", "tags", "标签"),
                Prop("id_number", "string", "身份证号", mask=mask_id_number),
                Prop("phone", "string", "电话", mask=mask_phone),
                Prop("grid", "string", "网格"), Prop("cadre", "string", "责任人"),
            ),
            _households, tiles=True, extent_of="households",
        ),
        Kind(
            "cadres", "网格员", "Point",
            (
                Prop("code", "string", "编码"), Prop("name", "string", "姓名"),
                Prop("role", "string", "角色"),
                Prop("phone", "string", "电话", mask=mask_phone),
                Prop("home_grid", "string", "所属网格"),
                Prop("capacity", "integer", "联系户上限"),
                Prop("active", "boolean", "在岗"),
            ),
            _cadres, extent_of="cadres",
        ),
        Kind(
            "parcels", "承包草场", "MultiPolygon",
            (
                Prop("contract_no", "string", "合同号"),
                Prop("holder", "string", "承包户"),
                Prop("contract_area_mu", "number", "合同面积(亩)"),
            ),
            _parcels, tiles=True, extent_of="pasture_parcels",
        ),
        Kind(
            "hazards", "隐患", "Point",
            (
                Prop("code", "string", "编码"), Prop("kind", "string", "类型"),
                Prop("severity", "string", "等级"),
                Prop("status", "string", STATUS_TITLE),
                Prop("description", "string", "描述"),
                Prop("warn_radius_m", "number", "警戒半径(米)"),
                Prop("found_at", "date-time", "发现时间"),
                Prop("deadline", "date", "整改期限"),
                Prop("closed_at", "date-time", "销号时间"),
                Prop("grid", "string", "网格"),
            ),
            _hazards, temporal="found_at", tiles=True, extent_of="hazards",
        ),
        Kind(
            "roads", "道路", "MultiLineString",
            (
                Prop("code", "string", "编码"), Prop("name", "string", "名称"),
                Prop("kind", "string", "类型"),
            ),
            _roads, extent_of="roads",
        ),
        Kind(
            "disputes", "未结草场纠纷", "MultiPolygon",
            (
                Prop("status", "string", STATUS_TITLE),
                Prop("parcel_a", "string", "草场甲"),
                Prop("parcel_b", "string", "草场乙"),
                Prop("overlap_area_m2", "number", "重叠面积(平方米)"),
                Prop("first_detected_at", "date-time", "首次发现"),
                Prop("last_detected_at", "date-time", "最近发现"),
            ),
            _disputes, temporal="first_detected_at", tiles=True,
            extent_of="pasture_parcels",
        ),
        Kind(
            "uncovered", "未按期走访户", "Point",
            (
                Prop("code", "string", "户编码"), Prop("head_name", "string", "户主"),
                Prop("tags", "tags", "标签"), Prop("grid", "string", "网格"),
                Prop("cadre", "string", "责任人"),
                Prop("interval_days", "integer", "走访周期(天)"),
                Prop("last_visit", "date-time", "最近走访"),
                Prop("days_overdue", "number", "逾期天数"),
                Prop("status", "string", STATUS_TITLE),
            ),
            _uncovered, temporal="last_visit", extent_of="households",
        ),
        Kind(
            "visit_status", "农户走访状态", "Point",
            (
                Prop("code", "string", "户编码"), Prop("members", "integer", "人口"),
                Prop("village", "string", "村"), Prop("tags", "tags", "标签"),
                Prop("grid", "string", "网格"), Prop("cadre", "string", "责任人"),
                Prop("cadre_name", "string", "责任人姓名"),
                Prop("last_visit", "date-time", "最近走访"),
                Prop("days_overdue", "number", "逾期天数"),
                Prop("status", "string", STATUS_TITLE, enum=VISIT_STATUSES),
                Prop("priority", "boolean", "重点户"),
            ),
            _visit_status, tiles=True, extent_of="households", as_of=True,
        ),
        Kind(
            "visits", "走访记录", "Point",
            (
                Prop("household", "string", "户编码"),
                Prop("cadre", "string", "走访人"),
                Prop("visited_at", "date-time", "走访时间"),
                Prop("purpose", "string", "目的"), Prop("notes", "string", "记录"),
                Prop("has_fix", "boolean", "有定位"),
            ),
            _visits, temporal="visited_at", extent_of="households",
        ),
        Kind(
            "demands", "诉求", "Point",
            (
                Prop("household", "string", "户编码"),
                Prop("category", "string", "类别"),
                Prop("description", "string", "内容"),
                Prop("status", "string", STATUS_TITLE),
                Prop("due_date", "date", "办结期限"),
                Prop("owner_cadre", "string", "承办人"),
                Prop("created_at", "date-time", "提出时间"),
                Prop("resolved_at", "date-time", "办结时间"),
            ),
            _demands, temporal="created_at", extent_of="households",
        ),
    )
}  # fmt: skip


def parse_collection_id(collection_id: str) -> tuple[str, Kind]:
    """Split ``{township}.{kind}``; an unknown kind or malformed id is a 404."""
    township, _, name = collection_id.partition(".")
    kind = KINDS.get(name)
    if kind is None or not (len(township) == 12 and township.isdigit()):
        raise NotFound(
            f"collection {collection_id!r} does not exist; ids are "
            "{township}.{layer} with layer one of " + ", ".join(KINDS)
        )
    return township, kind
