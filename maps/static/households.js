/* GridGIS households layer: many points drawn on canvas tiles, coloured by status.
 *
 * One compact array per layer (delta-encoded integer coordinates) instead of one
 * Leaflet marker per household: 100 000 households cost a few hundred kB and are
 * drawn tile by tile from a per-zoom bucket index. A click finds the nearest
 * household in the clicked bucket and opens its (already masked) summary.
 */
(function () {
  "use strict";
  var TILE = 256;

  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  function column(detail, name, i) {
    var col = detail && detail[name];
    if (!col) return null;
    if (col.dict) return col.dict[col.idx[i]];
    return col[i];
  }

  L.GridGISHouseholds = L.GridLayer.extend({
    options: {
      tileSize: TILE, color: "#333", label: "", priorityColor: "#0072b2",
      outline: "#ffffff", radius: 1, links: {},
      pane: "gridgisHouseholds", updateWhenZooming: false, keepBuffer: 1,
    },

    initialize: function (data, options) {
      L.setOptions(this, options);
      var n = data.y.length, lon = new Float64Array(n), lat = new Float64Array(n);
      var acc = 0;
      for (var i = 0; i < n; i++) {
        acc += data.dx[i];
        lon[i] = data.x0 + acc / data.k;
        lat[i] = data.y0 + data.y[i] / data.k;
      }
      this._data = data;
      this._lon = lon;
      this._lat = lat;
      this._byZoom = {};
      this.count = n;
      this.priorityCount = 0;
      for (var j = 0; j < n; j++) this.priorityCount += data.p[j];
      this.drawn = 0;
    },

    _radius: function (z) {
      return this.options.radius * (z < 12 ? 2.5 : z < 14 ? 3.5 : z < 16 ? 4.5 : 6);
    },

    _index: function (z) {
      if (this._byZoom[z]) return this._byZoom[z];
      if (Object.keys(this._byZoom).length > 3) this._byZoom = {};
      var n = this.count, scale = TILE * Math.pow(2, z);
      var px = new Float64Array(n), py = new Float64Array(n), buckets = {};
      for (var i = 0; i < n; i++) {
        var s = Math.sin(this._lat[i] * Math.PI / 180);
        s = Math.max(Math.min(s, 0.9999), -0.9999);
        var x = (this._lon[i] + 180) / 360 * scale;
        var y = (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * scale;
        px[i] = x;
        py[i] = y;
        var key = Math.floor(x / TILE) + ":" + Math.floor(y / TILE);
        (buckets[key] || (buckets[key] = [])).push(i);
      }
      return (this._byZoom[z] = { px: px, py: py, buckets: buckets });
    },

    _near: function (idx, tx, ty) {
      var out = [];
      for (var dx = -1; dx <= 1; dx++) {
        for (var dy = -1; dy <= 1; dy++) {
          var b = idx.buckets[(tx + dx) + ":" + (ty + dy)];
          if (b) out.push.apply(out, b);
        }
      }
      return out;
    },

    createTile: function (coords) {
      var tile = L.DomUtil.create("canvas", "gridgis-households-tile");
      var size = this.getTileSize();
      tile.width = size.x;
      tile.height = size.y;
      var idx = this._index(coords.z), ctx = tile.getContext("2d");
      var r = this._radius(coords.z), ox = coords.x * TILE, oy = coords.y * TILE;
      var near = this._near(idx, coords.x, coords.y), p = this._data.p;
      ctx.fillStyle = this.options.color;
      var drawn = 0, shown = [];
      for (var k = 0; k < near.length; k++) {
        var i = near[k], x = idx.px[i] - ox, y = idx.py[i] - oy;
        if (x < -r - 5 || y < -r - 5 || x > size.x + r + 5 || y > size.y + r + 5) continue;
        shown.push(i);
      }
      // Priority rings first, then every dot: a ring never covers a neighbour's dot.
      ctx.strokeStyle = this.options.priorityColor;
      ctx.lineWidth = 2;
      for (var a = 0; a < shown.length; a++) {
        if (!p[shown[a]]) continue;
        ctx.beginPath();
        ctx.arc(idx.px[shown[a]] - ox, idx.py[shown[a]] - oy, r + 2.5, 0, 2 * Math.PI);
        ctx.stroke();
      }
      ctx.strokeStyle = this.options.outline;
      ctx.lineWidth = 1;
      for (var b = 0; b < shown.length; b++) {
        var j = shown[b], x2 = idx.px[j] - ox, y2 = idx.py[j] - oy;
        ctx.beginPath();
        ctx.arc(x2, y2, r, 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
        if (x2 >= 0 && y2 >= 0 && x2 < size.x && y2 < size.y) drawn++;
      }
      this.drawn += drawn;
      return tile;
    },

    onAdd: function (map) {
      // Households above every other layer (hazards, disputes, labels): their own
      // pane, which lets the pointer through except over a household (mappage.js).
      var pane = this.options.pane;
      if (pane.indexOf("gridgis") === 0 && !map.getPane(pane)) {
        map.createPane(pane).style.zIndex = pane === "gridgisHouseholds" ? 620 : 405;
      }
      L.GridLayer.prototype.onAdd.call(this, map);
      map.on("click", this._onClick, this);
    },

    onRemove: function (map) {
      map.off("click", this._onClick, this);
      L.GridLayer.prototype.onRemove.call(this, map);
    },

    /** The household nearest to a map click within the drawn radius, or -1. */
    nearest: function (latlng) {
      var z = this._map.getZoom(), idx = this._index(z);
      var pt = this._map.project(latlng, z), best = -1;
      var limit = this._radius(z) + 4, bestD = limit * limit;
      var near = this._near(idx, Math.floor(pt.x / TILE), Math.floor(pt.y / TILE));
      for (var k = 0; k < near.length; k++) {
        var i = near[k], dx = idx.px[i] - pt.x, dy = idx.py[i] - pt.y;
        var d = dx * dx + dy * dy;
        if (d <= bestD) { bestD = d; best = i; }
      }
      return best;
    },

    _onClick: function (e) {
      var i = this.nearest(e.latlng);
      if (i < 0) return;
      L.popup({ maxWidth: 320 })
        .setLatLng([this._lat[i], this._lon[i]])
        .setContent(this.popupHtml(i))
        .openOn(this._map);
    },

    popupHtml: function (i) {
      // Field names come from the page (options.words, in its language).
      var w = this.options.words || {};
      var d = this._data.detail, rows = [[w.status, this.options.label]];
      if (this._data.p[i]) rows.push([w.priority, w.yes]);
      var fields = ["code", "name", "members", "village", "tags", "cadre", "last",
        "phone"];
      for (var f = 0; f < fields.length; f++) {
        var v = column(d, fields[f], i);
        if (v !== null && v !== undefined && v !== "") rows.push([w[fields[f]], v]);
      }
      var html = "<table class='gridgis-popup'>";
      for (var r = 0; r < rows.length; r++) {
        html += "<tr><th>" + esc(rows[r][0]) + "</th><td>" + esc(rows[r][1]) + "</td></tr>";
      }
      html += "</table>";
      var code = column(d, "cadre_code", i), links = this.options.links;
      if (code && links.cadre) {
        var href = links.cadre.replace("{code}", encodeURIComponent(code));
        html += "<a class='gridgis-link' href='" + esc(href) + "'>" +
          esc(w.cadre_route) + "</a>";
      }
      return html;
    },
  });

  L.gridgisHouseholds = function (data, options) {
    return new L.GridGISHouseholds(data, options);
  };
})();
