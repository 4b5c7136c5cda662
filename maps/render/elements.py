"""Folium elements of GridGIS maps: the canvas households layer and map controls."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from folium.template import Template

from gis_service.core.i18n import N_, same
from maps.render.palette import OUTLINE_COLOR, PRIORITY_COLOR

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parents[1] / "static"
PAGE_SCRIPTS = (STATIC / "households.js", STATIC / "mappage.js")
# Leaflet panes, bottom to top (Leaflet's own: tiles 200, overlay 400 (the grid
# polygons), markers 600, tooltips 650, popups 700). Households sit above every
# other layer; their pane and the labels' let the pointer through (mappage.js).
PANES = (
    ("gridgisContext", 405, False),
    ("gridgisDisputes", 420, True),
    ("gridgisHazards", 450, True),
    ("gridgisLabels", 460, False),
    ("gridgisHouseholds", 620, False),
)
COORD_SCALE = 100_000  # 1e-5 degree (about 1 m) integer coordinates
MAP_CSS = """
.gridgis-legend, .gridgis-info { background: rgba(255,255,255,.92); padding: 6px 9px;
  border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.35); font: 12px/1.45 sans-serif;
  max-width: 260px; }
.gridgis-legend h4, .gridgis-info h4 { margin: 0 0 4px; font-size: 13px; }
.gridgis-legend i.sw, .gridgis-info i.sw { display: inline-block; width: 14px;
  height: 10px; margin-right: 5px; vertical-align: middle; border: 1px solid #777; }
.gridgis-legend i.dot, .gridgis-info i.dot { display: inline-block; width: 10px;
  height: 10px; border-radius: 50%; margin: 0 7px 0 2px; vertical-align: middle; }
.gridgis-label { font: 11px/1.2 sans-serif; color: #222; text-align: center;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff; white-space: nowrap; }
.gridgis-stop { background: #0072b2; color: #fff; border: 2px solid #fff;
  border-radius: 50%; width: 24px; height: 24px; line-height: 20px; text-align: center;
  font: bold 12px/20px sans-serif; box-shadow: 0 1px 3px rgba(0,0,0,.5); }
.gridgis-stop.flagged { background: #d55e00; border-style: dashed; }
.gridgis-stop.extra { background: #f0e442; color: #222; border-radius: 3px; }
table.gridgis-popup th { text-align: left; padding-right: 8px; white-space: nowrap; }
.gridgis-label { position: absolute; transform: translate(-50%, -50%); }
.gridgis-label small { color: #555; }
.gridgis-hit .gridgis-households-tile { pointer-events: auto; cursor: pointer; }
.leaflet-interactive:focus { outline: none; }
.gridgis-hazard { width: 16px; height: 16px; border-radius: 3px; text-align: center;
  font-size: 9px; line-height: 14px; box-sizing: border-box; }
.gridgis-hazard.closed { opacity: .55; transform: scale(.75); }
.gridgis-basemap-notice { position: absolute; z-index: 1000; top: 8px; left: 50%;
  transform: translateX(-50%); background: #fff8e1; color: #4d3b00;
  border: 1px solid #c9a400; border-radius: 4px; padding: 3px 10px;
  font: 12px/1.4 sans-serif; pointer-events: none; }
a.gridgis-link { display: block; margin-top: 4px; }
"""


def _script_json(value: Any) -> str:
    """JSON safe to place inside a <script> element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.replace("</", "<\\/")


class _PageAssets(MacroElement):
    """GridGIS's own CSS and the households layer script, added once per page."""

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        figure = self.get_root()
        if isinstance(figure, Figure):
            figure.header.add_child(
                Element(f"<style>{MAP_CSS}</style>"), name="gridgis_css"
            )
            for path in PAGE_SCRIPTS:
                script = path.read_text(encoding="utf-8")
                figure.header.add_child(
                    Element(f"<script>{script}</script>"), name=f"gridgis_{path.stem}"
                )
        super().render(**kwargs)  # type: ignore[no-untyped-call]


def add_page_assets(root: Element) -> None:
    """Attach GridGIS's CSS and scripts to a map (idempotent)."""
    page_assets = _PageAssets()  # type: ignore[no-untyped-call]
    root.add_child(page_assets, name="gridgis_page_assets")


def encode_points(
    lon: np.ndarray, lat: np.ndarray, priority: np.ndarray
) -> tuple[dict[str, Any], np.ndarray]:
    """Compact arrays for many points: sorted by longitude, delta-coded integers.

    Returns the payload and the sort order (to align per-household detail columns).
    """
    order = np.argsort(lon, kind="stable")
    if len(order) == 0:
        return {
            "x0": 0.0,
            "y0": 0.0,
            "k": COORD_SCALE,
            "dx": [],
            "y": [],
            "p": [],
        }, order
    # The origin on the integer lattice itself, so rounding happens once per point.
    x0 = float(np.floor(lon.min() * COORD_SCALE) / COORD_SCALE)
    y0 = float(np.floor(lat.min() * COORD_SCALE) / COORD_SCALE)
    xs = np.rint((lon[order] - x0) * COORD_SCALE).astype(np.int64)
    ys = np.rint((lat[order] - y0) * COORD_SCALE).astype(np.int64)
    payload = {
        "x0": x0,
        "y0": y0,
        "k": COORD_SCALE,
        "dx": np.diff(xs, prepend=0).tolist(),
        "y": ys.tolist(),
        "p": priority[order].astype(np.int8).tolist(),
    }
    return payload, order


def decode_points(payload: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of ``encode_points`` (what the page's script computes), for checks."""
    k = payload["k"]
    lon = payload["x0"] + np.cumsum(np.asarray(payload["dx"], dtype=np.int64)) / k
    return lon, payload["y0"] + np.asarray(payload["y"], dtype=float) / k


def encode_column(values: Sequence[Any], order: np.ndarray) -> Any:
    """A detail column in drawing order; dictionary-coded when values repeat a lot."""
    ordered = [values[i] for i in order]
    distinct = list(dict.fromkeys(ordered))
    if len(distinct) * 4 < len(ordered):
        position = {v: k for k, v in enumerate(distinct)}
        return {"dict": distinct, "idx": [position[v] for v in ordered]}
    return ordered


def household_words(_: Callable[[str], str] = same) -> dict[str, str]:
    """A household popup's field names, for the page's script (its language)."""
    return {
        "status": _("状态"), "priority": _("重点户"), "yes": _("是"),
        "code": _("户编号"), "name": _("户主"), "members": _("人口"),
        "village": _("村"), "tags": _("标签"), "cadre": _("联户干部"),
        "last": _("最近走访"), "phone": _("电话"),
        "cadre_route": _("联户干部的走访路线 →"),
    }  # fmt: skip


class HouseholdLayer(Layer):
    """One status class of households as a canvas layer (L.GridGISHouseholds)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.gridgisHouseholds(
            {{ this.payload }}, {{ this.js_options }});
        (window.GridGIS = window.GridGIS || {layers: {}}).layers[{{ this.key|tojson }}]
            = {{ this.get_name() }};
        {% endmacro %}
        """
    )

    def __init__(
        self,
        payload: dict[str, Any],
        *,
        key: str,
        name: str,
        color: str,
        label: str,
        show: bool = True,
        outline: str = OUTLINE_COLOR,
        priority_color: str = PRIORITY_COLOR,
        links: dict[str, str] | None = None,
        pane: str = "gridgisHouseholds",
        radius: float = 1.0,
        hit: bool = True,
        words: dict[str, str] | None = None,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "HouseholdLayer"
        self.key = key
        self.payload = _script_json(payload)
        self.js_options = _script_json(
            {
                "color": color, "label": label, "outline": outline,
                "priorityColor": priority_color, "links": links or {},
                "pane": pane, "radius": radius, "hit": hit,
                "words": words or household_words(),
            }
        )  # fmt: skip


class OnDemandGeoJson(Layer):
    """A GeoJSON overlay, off at first, fetched from ``url`` when switched on.

    Its name in the layer control becomes ``loaded_name`` with the count then.

    Its features bring their popup and tooltip as escaped HTML (``popup_html``,
    ``tip_html``), bound as they are, as for the features a page carries.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson(null, {
            pane: {{ this.pane|tojson }},
            style: function () { return {{ this.style }}; },
            onEachFeature: function (f, layer) {
                layer.bindPopup(f.properties.popup_html, {maxWidth: 300});
                layer.bindTooltip(f.properties.tip_html);
            }
        });
        GridGIS.loadOnAdd(
            {{ this.get_name() }}, {{ this.url|tojson }}, {{ this.loaded_name }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        url: str,
        *,
        name: str,
        loaded_name: str,
        style: dict[str, Any],
        pane: str,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=False)
        self._name = "OnDemandGeoJson"
        self.url = url
        # its name in the layer control once fetched, "{n}" the features' count
        self.loaded_name = _script_json(loaded_name)
        self.style = _script_json(style)
        self.pane = pane


class MapControl(MacroElement):
    """A fixed HTML box (legend, route or dispute summary) as a Leaflet control."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          var box = L.control({position: {{ this.position|tojson }}});
          box.onAdd = function () {
            var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
            div.id = {{ this.element_id|tojson }};
            div.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableClickPropagation(div);
            return div;
          };
          box.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self, html: str, *, element_id: str, css_class: str, position: str
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "MapControl"
        self.html = html
        self.element_id = element_id
        self.css_class = css_class
        self.position = position


NOTICE = N_("底图未能加载，仅显示矢量图层")  # the basemap's tiles failed


class PageFinish(MacroElement):
    """The page's last script: metric scale, label placement, tile-error notice."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        GridGIS.finishMap({{ this._parent.get_name() }}, {{ this.words }});
        {% endmacro %}
        """
    )

    def __init__(self, words: dict[str, str] | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "PageFinish"
        self.words = _script_json(words or {"notice": NOTICE})
