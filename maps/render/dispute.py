"""Dispute map rendering, PURE: two parcels and their overlap in, folium.Map out."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import folium

from gis_service.core.i18n import same
from gis_service.core.vocab import label as vocab_label
from maps.render.basemaps import (
    MapOptions,
    new_map,
    shift_collection,
    shift_geometry,
)
from maps.render.elements import MapControl
from maps.render.page import area_text, bounds_of, escaped_features, finish_map
from maps.render.palette import CONTEXT_COLOR, DISPUTE_COLOR, SIDE_COLORS

logger = logging.getLogger(__name__)

OVERLAP_COLOR = DISPUTE_COLOR
PARCEL_TIP = ("contract_no", "holder_label", "holder_phone", "area_label")


@dataclass
class DisputeData:
    """A boundary dispute as plain data.

    ``dispute``: id, status, overlap_area_m2; ``parcels``: FeatureCollection whose
    properties are side ('a'/'b'), contract_no, area_m2, contract_area_mu and the
    holder (holder_code, holder_name, holder_phone, holder_id_number: MASKED);
    ``overlap``: the GeoJSON geometry of the overlap (None if not stored).
    """

    dispute: dict[str, Any]
    parcels: dict[str, Any]
    overlap: dict[str, Any] | None
    # The parcels around (FeatureCollection, property contract_no), drawn faint.
    neighbours: dict[str, Any] = field(
        default_factory=lambda: {"type": "FeatureCollection", "features": []}
    )
    # "dispute": the URL template ({id}) of the dispute's workbench page.
    links: dict[str, str] = field(default_factory=dict)


def dispute_summary_html(data: DisputeData, _: Callable[[str], str] = same) -> str:
    """The summary box: status, each parcel's holder and area, the overlap area."""
    d = data.dispute
    status = _(d.get("status_label") or vocab_label("dispute_status", d["status"]))
    heading = _("草场边界争议 #{id}").format(id=int(d["id"]))
    rows = [f"<h4>{html.escape(heading)} ({html.escape(str(status))})</h4>"]
    # looked up outside the f-strings (pybabel cannot see calls inside one)
    nobody, overlap, around = _("无承包户"), _("重叠"), _("相邻地块")
    for f in data.parcels["features"]:
        p = f["properties"]
        holder = " ".join(str(p[k]) for k in ("holder_name", "holder_code") if p.get(k))
        rows.append(
            f"<span data-side='{html.escape(p['side'])}' style='color:"
            f"{SIDE_COLORS.get(p['side'], '#555')}'>■</span> "
            f"{html.escape(p['contract_no'])}: "
            f"{html.escape(holder or nobody)}, "
            f"{html.escape(area_text(p.get('area_m2'), _))}<br>"
        )
    rows.append(
        f"<span style='color:{OVERLAP_COLOR}'>■</span> {html.escape(overlap)} "
        f"<span data-overlap-m2='{d['overlap_area_m2']:.0f}'>"
        f"{html.escape(area_text(d['overlap_area_m2'], _))}</span>"
    )
    if data.neighbours["features"]:
        rows.append(
            f"<br><span style='color:{CONTEXT_COLOR}'>□</span> "
            f"{html.escape(around)} "
            f"{len(data.neighbours['features'])}"
        )
    if "dispute" in data.links:
        href = html.escape(data.links["dispute"].replace("{id}", str(int(d["id"]))))
        text = html.escape(_("争议处理页 →"))
        rows.append(f"<a class='gridgis-link' href='{href}'>{text}</a>")
    return "".join(rows)


def _parcel_label(p: dict[str, Any], _: Callable[[str], str]) -> dict[str, Any]:
    return {
        **p,
        "area_label": area_text(p.get("area_m2"), _),
        "holder_label": " ".join(
            str(p[k]) for k in ("holder_name", "holder_code") if p.get(k)
        ),
    }


def render_dispute(data: DisputeData, options: MapOptions) -> folium.Map:
    """Both parcels (by side), the overlap in red, holders (masked) and areas."""
    _ = options.gettext
    m = new_map(options)
    neighbours = shift_collection(data.neighbours, options)
    if neighbours["features"]:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": escaped_features(
                neighbours["features"], ("contract_no",))},
            name=_("相邻地块 ({n})").format(n=len(neighbours["features"])),
            style_function=lambda _f: {"color": CONTEXT_COLOR, "weight": 1,
                                       "fillOpacity": 0, "dashArray": "3 3"},
            tooltip=folium.GeoJsonTooltip(
                fields=["contract_no"], aliases=[_("相邻地块")]
            ),
            pane="gridgisContext",
        ).add_to(m)  # fmt: skip
    parcels = shift_collection(data.parcels, options)
    for f in parcels["features"]:
        p = _parcel_label(f["properties"], _)
        (shown,) = escaped_features([{**f, "properties": p}], PARCEL_TIP)
        folium.GeoJson(
            shown,
            name=html.escape(_("地块 {no}").format(no=p["contract_no"])),
            style_function=lambda _f, c=SIDE_COLORS.get(p["side"], "#555"): {
                "color": c,
                "weight": 2,
                "fillColor": c,
                "fillOpacity": 0.25,
            },
            tooltip=folium.GeoJsonTooltip(
                fields=list(PARCEL_TIP),
                aliases=[_("承包合同"), _("承包户"), _("电话"), _("面积")],
            ),
        ).add_to(m)
    overlap = shift_geometry(data.overlap, options)
    if overlap is not None:
        folium.GeoJson(
            {
                "type": "Feature",
                "geometry": overlap,
                "properties": {"area": area_text(data.dispute["overlap_area_m2"], _)},
            },
            name=_("重叠区"),
            style_function=lambda _f: {
                "color": OVERLAP_COLOR,
                "weight": 2,
                "fillColor": OVERLAP_COLOR,
                "fillOpacity": 0.6,
            },
            tooltip=folium.GeoJsonTooltip(fields=["area"], aliases=[_("重叠面积")]),
        ).add_to(m)
    m.add_child(
        MapControl(
            dispute_summary_html(data, _),
            element_id="gridgis-dispute-summary",
            css_class="gridgis-info",
            position="topright",
        )
    )
    finish_map(
        m, options, bounds_of([parcels], [], []),
        title=_("草场边界争议 #{id} · 争议地图").format(id=int(data.dispute["id"])),
    )  # fmt: skip
    return m
