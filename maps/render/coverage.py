"""Map rendering, PURE: plain data in (GeoJSON dicts, lists of dicts), folium.Map out.

No database, no HTTP: the services in maps/service.py gather (and mask) the data;
anything that can produce the same plain structures (the coverage and route
services, when they land) can be rendered by these functions.
"""

from __future__ import annotations

import html
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from html import escape as esc
from typing import Any

import folium
import numpy as np
from folium.utilities import JsCode

from gis_service.core.i18n import N_
from gis_service.core.vocab import label as vocab_label
from maps.render.basemaps import MapOptions, new_map, shift_collection, shift_lonlat
from maps.render.elements import (
    HouseholdLayer,
    MapControl,
    OnDemandGeoJson,
    encode_column,
    encode_points,
    household_words,
)
from maps.render.hazards import HAZARD_LABELS, HAZARD_MARKER_LIMIT, add_hazards
from maps.render.labels import add_labels, border_style
from maps.render.page import (
    area_text,
    bounds_of,
    escaped_features,
    finish_map,
    to_html,
)
from maps.render.palette import (
    COVERAGE_STEPS,
    DISPUTE_COLOR,
    GRID_FILL_OPACITY,
    HAZARD_COLORS,
    HAZARD_INK,
    NO_HOUSEHOLDS_COLOR,
    OUTLINE_COLOR,
    PRIORITY_COLOR,
    STATUS_COLORS,
)
from maps.render.vectortiles import HouseholdTiles, add_household_tiles

logger = logging.getLogger(__name__)

STATUSES = ("visited", "overdue", "never_visited", "unassigned")  # drawing order
STATUS_LABELS = {
    "visited": N_("已走访"),
    "overdue": N_("走访逾期"),
    "never_visited": N_("从未走访"),
    "unassigned": N_("未分配 (无网格或无干部)"),
}
DETAIL_FIELDS = (
    "code", "name", "members", "village", "tags", "cadre", "cadre_code", "last",
    "phone",
)  # fmt: skip
# Above this many households the high-cardinality personal fields (head's name,
# masked phone) stay out of the page, which keeps 100 000 households under 4 MB;
# the popup still shows code, village, tags, cadre and last visit.
PERSONAL_FIELDS = ("name", "phone")
PERSONAL_DETAIL_LIMIT = 20_000
GRID_TIP = (
    "name",
    "code",
    "level_label",
    "households",
    "coverage_label",
    "up_to_date_label",
)
LABEL_LIMIT = 400  # more grids than this: labels are left to the hover tooltips


@dataclass
class CoverageData:
    """Everything the coverage map shows, as plain data.

    ``grids``: FeatureCollection, properties code, name, level, depth, is_leaf,
    households, visited in the period (+ optional up_to_date, label_lon/label_lat).
    ``period``: the coverage period shown in the legend. ``households``: dicts with
    lon, lat, status (one of STATUSES), priority and optional, already masked,
    detail fields (DETAIL_FIELDS). ``hazards``: dicts with lon, lat, code, kind,
    kind_label, status, severity, description, deadline, warn_radius_m and, for a
    polygon, its GeoJSON ``outline`` (see ``maps.render.hazards``). ``disputes``:
    FeatureCollection of open overlaps, properties id, status, overlap_area_m2,
    parcel_a, parcel_b.
    """

    title: str
    grids: dict[str, Any]
    households: list[dict[str, Any]]
    hazards: list[dict[str, Any]] = field(default_factory=list)
    disputes: dict[str, Any] = field(
        default_factory=lambda: {"type": "FeatureCollection", "features": []}
    )
    period: str | None = None
    # Set above settings.map.vector_tiles_above: households come from tiles.
    household_tiles: HouseholdTiles | None = None
    # URL templates for links out of the map ({code}, {id} filled in the page):
    # "cadre" from a household's popup, "dispute" from an overlap's popup.
    links: dict[str, str] = field(default_factory=dict)
    # Set when the page is served: the open overlaps are not in the page, their
    # layer fetches them from this URL when it is switched on.
    disputes_url: str | None = None


def coverage_color(coverage: float | None) -> str:
    """Fill colour of a grid from its visit coverage (None: no households)."""
    if coverage is None:
        return NO_HOUSEHOLDS_COLOR
    return next(color for floor, color in COVERAGE_STEPS if coverage >= floor)


def grid_coverage(households: int, visited: int | None) -> float | None:
    """Share of a grid's households that are visited (None when it has none)."""
    return visited / households if households and visited is not None else None


def share_label(share: float | None) -> str:
    """A share as a whole percentage, or a dash."""
    return "—" if share is None else f"{share:.0%}"


def status_counts(households: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Households per status, every status present (0 when none)."""
    counts = Counter(h["status"] for h in households)
    return {s: counts.get(s, 0) for s in STATUSES}


def render_coverage(
    data: CoverageData,
    options: MapOptions,
    *,
    personal_detail_limit: int = PERSONAL_DETAIL_LIMIT,
) -> folium.Map:
    """The coverage map: grids by coverage, households by status, hazards, disputes."""
    _ = options.gettext
    labels = {s: _(w) for s, w in STATUS_LABELS.items()}
    m = new_map(options)
    grids = shift_collection(data.grids, options)
    _add_grids(m, grids, options)
    lon = np.array([h["lon"] for h in data.households], dtype=float)
    lat = np.array([h["lat"] for h in data.households], dtype=float)
    lon, lat = shift_lonlat(lon, lat, options)
    counts = status_counts(data.households)
    priority = sum(1 for h in data.households if h.get("priority"))
    fields: tuple[str, ...] = DETAIL_FIELDS
    if len(data.households) > personal_detail_limit:
        fields = tuple(f for f in DETAIL_FIELDS if f not in PERSONAL_FIELDS)
    if (tiles := data.household_tiles) is not None:
        counts, priority = {s: tiles.counts.get(s, 0) for s in STATUSES}, tiles.priority
        add_household_tiles(
            m, tiles, colors=STATUS_COLORS, labels=labels,
            priority_color=PRIORITY_COLOR, words=household_words(_), gettext=_,
        )  # fmt: skip
    else:
        _add_households(m, data.households, lon, lat, fields, data.links, _)
    add_hazards(m, data.hazards, options, show=False)
    _add_disputes(m, data, options, _)
    m.add_child(
        MapControl(
            _legend_html(data.title, counts, priority, data.period, _),
            element_id="gridgis-legend",
            css_class="gridgis-legend",
            position="bottomright",
        )
    )
    finish_map(
        m, options, bounds_of([grids], lon.tolist(), lat.tolist()),
        title=_("{title} · 走访覆盖图").format(title=data.title),
    )  # fmt: skip
    return m


def _add_grids(m: folium.Map, grids: dict[str, Any], options: MapOptions) -> None:
    _ = options.gettext
    by_depth: dict[int, list[dict[str, Any]]] = {}
    for feature in grids["features"]:
        p = feature["properties"]
        cov = grid_coverage(p["households"], p["visited"])
        p["coverage_label"] = share_label(cov)
        p["up_to_date_label"] = share_label(
            grid_coverage(p["households"], p.get("up_to_date"))
        )
        p["fill_color"] = coverage_color(cov)
        p["level_label"] = _(vocab_label("grid_level", p["level"]))
        by_depth.setdefault(p["depth"], []).append(feature)
    # Deepest first, so the thick borders of the upper levels are drawn on top.
    for depth in sorted(by_depth, reverse=True):
        features = escaped_features(by_depth[depth], GRID_TIP)
        level = features[0]["properties"]["level_label"]  # escaped
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            name=_("网格边界: {level}").format(level=level),
            style_function=lambda f: {
                **border_style(f["properties"]["depth"], f["properties"]["is_leaf"]),
                "fillColor": f["properties"]["fill_color"],
                "fillOpacity": GRID_FILL_OPACITY,
            },
            tooltip=folium.GeoJsonTooltip(
                fields=list(GRID_TIP),
                aliases=[
                    _("网格"),
                    _("编码"),
                    _("层级"),
                    _("户数"),
                    _("走访覆盖率"),
                    _("按时走访率"),
                ],
            ),
        ).add_to(m)
    labelled = [f for f in grids["features"] if "label_lon" in f["properties"]]
    if labelled and len(labelled) <= LABEL_LIMIT:
        add_labels(m, labelled, options)


def _add_households(
    m: folium.Map,
    households: list[dict[str, Any]],
    lon: np.ndarray,
    lat: np.ndarray,
    fields: Sequence[str],
    links: dict[str, str],
    _: Callable[[str], str],
) -> None:
    status = np.array([h["status"] for h in households], dtype=object)
    priority = np.array([bool(h.get("priority")) for h in households], dtype=bool)
    for key in STATUSES:
        mask = status == key
        count = int(mask.sum())
        payload, order = encode_points(lon[mask], lat[mask], priority[mask])
        selected = [households[i] for i in np.flatnonzero(mask)]
        payload["detail"] = {
            name: encode_column([h.get(name) for h in selected], order)
            for name in fields
            if any(h.get(name) not in (None, "") for h in selected)
        }
        HouseholdLayer(
            payload,
            key=key,
            name=_("农户: {status} ({count})").format(
                status=_(STATUS_LABELS[key]), count=count
            ),
            color=STATUS_COLORS[key],
            label=_(STATUS_LABELS[key]),
            links={k: v for k, v in links.items() if k == "cadre"},
            words=household_words(_),
        ).add_to(m)


DISPUTE_STYLE = {
    "color": DISPUTE_COLOR,
    "weight": 2,
    "fillColor": DISPUTE_COLOR,
    "fillOpacity": 0.45,
}


def dispute_features(
    disputes: dict[str, Any], links: dict[str, str], _: Callable[[str], str]
) -> list[dict[str, Any]]:
    """Open overlaps with their popup and tooltip built from escaped parts.

    The page binds ``popup_html`` and ``tip_html`` as they are, whether the
    features are in the page or fetched when the layer is switched on.
    """
    for f in disputes["features"]:
        p = f["properties"]
        p["area_label"] = area_text(p["overlap_area_m2"], _)
        p["status_label"] = _(
            p.get("status_label") or vocab_label("dispute_status", p["status"])
        )
    features = escaped_features(
        disputes["features"], ("status_label", "parcel_a", "parcel_b")
    )
    for f in features:
        p = f["properties"]
        rows = [
            (_("争议"), f"#{int(p['id'])}"),
            (_("状态"), p["status_label"]),
            (_("地块"), f"{p['parcel_a']} / {p['parcel_b']}"),
            (_("重叠面积"), p["area_label"]),
        ]
        body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
        link = ""
        if "dispute" in links:
            href = html.escape(links["dispute"].replace("{id}", str(int(p["id"]))))
            text = html.escape(_("查看并处理争议 →"))
            link = f"<a class='gridgis-link' href='{href}'>{text}</a>"
        p["popup_html"] = f"<table class='gridgis-popup'>{body}</table>{link}"
        p["tip_html"] = html.escape(_("争议 #{id}").format(id=int(p["id"])))
        p["tip_html"] += f" ({p['status_label']})"
    return features


def _add_disputes(
    m: folium.Map, data: CoverageData, options: MapOptions, _: Callable[[str], str]
) -> None:
    """Open overlaps, off by default (at 50 000 households they carpet the map).

    With ``data.disputes_url`` the page carries none of them (nor their count,
    "…" until then): the layer fetches them the first time it is switched on.
    """
    name = _("争议重叠区 ({n})")
    if data.disputes_url is not None:
        OnDemandGeoJson(
            data.disputes_url,
            name=name.format(n="…"),
            loaded_name=name,
            style=DISPUTE_STYLE,
            pane="gridgisDisputes",
        ).add_to(m)
        return
    disputes = shift_collection(data.disputes, options)
    features = dispute_features(disputes, data.links, _)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=name.format(n=len(features)),
        show=False,
        style_function=lambda _f: DISPUTE_STYLE,
        on_each_feature=JsCode(
            "function (f, layer) {"
            " layer.bindPopup(f.properties.popup_html, {maxWidth: 300});"
            " layer.bindTooltip(f.properties.tip_html); }"
        ),
        pane="gridgisDisputes",
    ).add_to(m)


def _legend_html(
    title: str,
    counts: dict[str, int],
    priority: int,
    period: str | None,
    _: Callable[[str], str],
) -> str:
    """The legend; every word translated and escaped (a translation is text too).

    The words are looked up outside the f-strings: gettext calls inside one are
    invisible to ``pybabel extract`` on Python < 3.12.
    """
    w = {
        "coverage": esc(_("网格走访覆盖率")), "none": esc(_("无农户")),
        "status": esc(_("农户状态")), "priority": esc(_("重点户")),
        "hazards": esc(_("隐患")), "in_layers": esc(_("(图层中打开)")),
        "disputes": esc(_("争议重叠区(未结, 图层中打开)")),
    }  # fmt: skip
    statuses = {s: esc(_(label)) for s, label in STATUS_LABELS.items()}
    hazards = {s: esc(_(label)) for s, label in HAZARD_LABELS.items()}
    when = f" <small data-period>{html.escape(period)}</small>" if period else ""
    parts = [f"<h4>{html.escape(title)}</h4><b>{w['coverage']}</b>{when}<br>"]
    steps = [(c, f"≥ {floor:.0%}") for floor, c in COVERAGE_STEPS[:-1]]
    steps += [(COVERAGE_STEPS[-1][1], f"< {COVERAGE_STEPS[-2][0]:.0%}")]
    steps += [(NO_HOUSEHOLDS_COLOR, w["none"])]
    parts += [f"<i class='sw' style='background:{c}'></i>{t}<br>" for c, t in steps]
    parts.append(f"<b>{w['status']}</b><br>")
    parts += [
        f"<span data-status='{s}'><i class='dot' style='background:{STATUS_COLORS[s]};"
        f"border:1px solid {OUTLINE_COLOR};box-shadow:0 0 0 1px {HAZARD_INK}'>"
        f"</i>{statuses[s]} {counts[s]}</span><br>"
        for s in reversed(STATUSES)
    ]
    parts.append(
        f"<i class='dot' style='border:2px solid {PRIORITY_COLOR}'></i>"
        f"{w['priority']} {priority}<br><b>{w['hazards']}</b>"
        f" <small>{w['in_layers']}</small><br>"
    )
    parts += [
        f"<i class='gridgis-hazard {s}' style='display:inline-block;background:{c};"
        f"border:1px solid {HAZARD_INK};width:12px;height:12px'></i> "
        f"{hazards[s]} "
        for s, c in HAZARD_COLORS.items()
    ]
    parts.append(
        f"<br><i class='sw' style='background:{DISPUTE_COLOR}'></i>{w['disputes']}"
    )
    return "".join(parts)


from maps.render.dispute import DisputeData, render_dispute  # noqa: E402
from maps.render.route import RouteData, render_route  # noqa: E402

__all__ = [
    "HAZARD_MARKER_LIMIT", "CoverageData", "DisputeData", "RouteData",
    "coverage_color", "dispute_features", "render_coverage", "render_dispute",
    "render_route",
    "status_counts", "to_html",
]  # fmt: skip
