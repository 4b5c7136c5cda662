"""Households drawn from vector tiles (Leaflet.VectorGrid) on big coverage maps.

Above ``settings.map.vector_tiles_above`` households one page would be too large.

PURE like the rest of ``maps.render``: the service hands in the tile URL template
(``/ogc/tiles/{township}.visit_status/{z}/{x}/{y}.pbf``, the same scoped endpoint
GIS clients use) and the legend's numbers; the browser fetches the tiles with its
own session cookie (``credentials: same-origin``), so a tile holds only what the
signed-in user may see. Tiles carry no personal data (no head's name, no phone),
which is the page's rule above ``PERSONAL_DETAIL_LIMIT`` anyway; popups escape
every value as the canvas layer's do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import folium
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

VECTORGRID_CDN = (
    "https://unpkg.com/leaflet.vectorgrid@1.3.0/dist/Leaflet.VectorGrid.bundled.min.js"
)
TILE_LAYER = "visit_status"  # the MVT layer name (the OGC collection's kind)


@dataclass
class HouseholdTiles:
    """Where the households' tiles are and what the legend counts.

    ``url``: a Leaflet URL template with ``{z}/{x}/{y}``; ``counts``: households
    per status; ``priority``: priority households.
    """

    url: str
    counts: dict[str, int]
    priority: int


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace(
        "</", "<\\/"
    )


class VectorTileHouseholds(JSCSSMixin, Layer):
    """All households as one VectorGrid.Protobuf layer, coloured by status."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
          var o = {{ this.js_options }};
          function esc(v) {
            return String(v === null || v === undefined ? "" : v)
              .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
              .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
          }
          function radius(z) { return z < 12 ? 2 : z < 14 ? 3 : z < 16 ? 4.5 : 6; }
          function popup(p) {
            var w = o.words;  // field names in the page's language
            var rows = [[w.status, o.labels[p.status] || p.status]];
            if (p.priority) rows.push([w.priority, w.yes]);
            var last = p.last_visit ? String(p.last_visit).slice(0, 10) : null;
            var fields = [[w.code, p.code], [w.members, p.members],
              [w.village, p.village], [w.tags, p.tags],
              [w.cadre, p.cadre_name || p.cadre], [w.last, last]];
            for (var i = 0; i < fields.length; i++) {
              var v = fields[i][1];
              if (v !== null && v !== undefined && v !== "") rows.push(fields[i]);
            }
            var html = "<table class='gridgis-popup'>";
            for (var r = 0; r < rows.length; r++) {
              html += "<tr><th>" + esc(rows[r][0]) + "</th><td>" + esc(rows[r][1]) +
                "</td></tr>";
            }
            return html + "</table>";
          }
          // a pane above the grids' polygons (overlayPane, 400), the hazards (450)
          // and labels (460), as the canvas households (620); below popups
          var map = {{ this._parent.get_name() }}, PANE = "gridgis-households";
          if (!map.getPane(PANE)) map.createPane(PANE).style.zIndex = 620;
          var styles = {};
          styles[o.layer] = function (p, z) {
            return {
              radius: radius(z), fill: true, fillOpacity: 1, opacity: 1,
              fillColor: o.colors[p.status] || "#757575",
              color: p.priority ? o.priorityColor : "#ffffff",
              weight: p.priority ? 2 : 1,
            };
          };
          var layer = L.vectorGrid.protobuf({{ this.url|tojson }}, {
            vectorTileLayerStyles: styles, interactive: true, pane: PANE,
            maxNativeZoom: {{ this.max_native_zoom }},
            fetchOptions: {credentials: "same-origin"},
          });
          // Leaflet >= 1.8 asks a clicked marker-sized path for getLatLng(); the
          // plugin's point symbolizers have none (their point is in tile pixels).
          var create = layer._createLayer;
          layer._createLayer = function () {
            var f = create.apply(this, arguments);
            if (f.getLatLng) {
              f.getLatLng = function () {
                var c = this._renderer.getCoord(), size = this._renderer._size;
                return layer._map.unproject(c.scaleBy(size).add(this._point), c.z);
              };
            }
            return f;
          };
          layer.on("click", function (e) {
            L.popup({maxWidth: 320}).setLatLng(e.latlng)
              .setContent(popup(e.layer.properties || {})).openOn(layer._map);
          });
          (window.GridGIS = window.GridGIS || {layers: {}}).layers.households_tiles =
            layer;
          return layer;
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        url: str,
        *,
        name: str,
        colors: dict[str, str],
        labels: dict[str, str],
        priority_color: str,
        words: dict[str, str],
        max_native_zoom: int = 18,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "VectorTileHouseholds"
        self.default_js = [("vectorgrid", VECTORGRID_CDN)]
        self.url = url
        self.max_native_zoom = int(max_native_zoom)
        self.js_options = _script_json(
            {
                "layer": TILE_LAYER,
                "colors": colors,
                "labels": labels,
                "priorityColor": priority_color,
                "words": words,
            }
        )


def add_household_tiles(
    m: folium.Map,
    tiles: HouseholdTiles,
    *,
    colors: dict[str, str],
    labels: dict[str, str],
    priority_color: str,
    words: dict[str, str],
    gettext: Callable[[str], str],
) -> None:
    """The households layer of a tiled coverage map (one layer, every status).

    ``words``: the popup's field names (status, priority, yes, code, members,
    village, tags, cadre, last) in the page's language.
    """
    total = sum(tiles.counts.values())
    VectorTileHouseholds(
        tiles.url,
        name=gettext("农户 ({total}, 矢量瓦片)").format(total=total),
        colors=colors,
        labels=labels,
        priority_color=priority_color,
        words=words,
    ).add_to(m)
