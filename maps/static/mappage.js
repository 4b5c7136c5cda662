/* GridGIS map page: what every map does once its layers are added.
 *
 * - households on top and always clickable: their pane lets the pointer through,
 *   except over a household, where it takes the click (a hazard symbol or a
 *   polygon under a household never steals it);
 * - labels that never collide: after each move, labels whose grid is too small on
 *   screen are hidden, then deeper (smaller) grids first, any label overlapping one
 *   already shown is hidden;
 * - a metric scale bar;
 * - a notice, once, when the basemap's tiles do not load;
 * - overlays the page does not carry (thousands of dispute overlaps), fetched the
 *   first time they are switched on.
 */
(function () {
  "use strict";
  var G = (window.GridGIS = window.GridGIS || { layers: {} });
  var NOTICE = "";  // the page's words (GridGIS.finishMap), in its language

  function householdLayers(map) {
    var out = [];
    for (var k in G.layers) {
      var l = G.layers[k];
      if (l && l._map === map && l.nearest && l.options.hit !== false) out.push(l);
    }
    return out;
  }

  /** Whether a household is drawn under the pointer event ``e``. */
  G.householdAt = function (map, e) {
    var ll = map.mouseEventToLatLng(e), layers = householdLayers(map);
    for (var i = 0; i < layers.length; i++) {
      if (layers[i].nearest(ll) >= 0) return true;
    }
    return false;
  };

  function watchHouseholds(map) {
    var box = map.getContainer(), pane = map.getPane("gridgisHouseholds");
    if (!pane) return;
    box.addEventListener("pointermove", function (e) {
      pane.classList.toggle("gridgis-hit", G.householdAt(map, e));
    }, true);
    // A tap gives no hover first: a click meant for a household that landed on
    // something below it is handed to the households instead.
    box.addEventListener("click", function (e) {
      var t = e.target;
      if (!t.closest || t.closest(".leaflet-popup, .leaflet-control")) return;
      if (t.classList.contains("gridgis-households-tile")) return;
      if (!G.householdAt(map, e)) return;
      e.stopPropagation();
      map.fire("click", { latlng: map.mouseEventToLatLng(e), originalEvent: e });
    }, true);
  }

  function overlaps(a, b) {
    return !(a.right <= b.left || b.right <= a.left ||
             a.bottom <= b.top || b.bottom <= a.top);
  }

  /** Hide labels that do not fit their grid or overlap a label already shown. */
  G.placeLabels = function (map) {
    var els = map.getContainer().querySelectorAll(".gridgis-label[data-bbox]");
    var items = [];
    for (var i = 0; i < els.length; i++) {
      var el = els[i], b = JSON.parse(el.getAttribute("data-bbox"));
      el.style.visibility = "";
      var sw = map.latLngToContainerPoint([b[1], b[0]]);
      var ne = map.latLngToContainerPoint([b[3], b[2]]);
      items.push({ el: el, depth: +el.getAttribute("data-depth"),
                   width: Math.abs(ne.x - sw.x), order: i });
    }
    items.sort(function (a, b) { return b.depth - a.depth || a.order - b.order; });
    var kept = [];
    for (var j = 0; j < items.length; j++) {
      var it = items[j], r = it.el.getBoundingClientRect(), hide = r.width > it.width;
      for (var k = 0; !hide && k < kept.length; k++) hide = overlaps(r, kept[k]);
      if (hide) it.el.style.visibility = "hidden";
      else kept.push(r);
    }
    map.getContainer().setAttribute("data-labels-shown", kept.length);
  };

  function showNotice(map) {
    var box = map.getContainer();
    if (box.querySelector(".gridgis-basemap-notice")) return;
    var div = L.DomUtil.create("div", "gridgis-basemap-notice", box);
    div.setAttribute("role", "status");
    div.textContent = NOTICE;
  }

  // The layers control a layer was listed in (Leaflet keeps no such link), so a
  // layer fetched later can be renamed with its count.
  if (L.Control.Layers && !L.Control.Layers.prototype._gridgisListed) {
    var listed = L.Control.Layers.prototype._addLayer;
    L.Control.Layers.prototype._gridgisListed = true;
    L.Control.Layers.prototype._addLayer = function (layer) {
      layer._gridgisControl = this;
      return listed.apply(this, arguments);
    };
  }

  function rename(layer, name) {
    var control = layer._gridgisControl;
    if (!control) return;
    for (var i = 0; i < control._layers.length; i++) {
      if (control._layers[i].layer === layer) control._layers[i].name = name;
    }
    control._update();
  }

  /** Fill the GeoJSON ``layer`` from ``url`` the first time it is added to a map,
   * then name it ``name`` with ``{n}`` its count of features. */
  G.loadOnAdd = function (layer, url, name) {
    layer.once("add", function () {
      fetch(url, { credentials: "same-origin",
                   headers: { Accept: "application/geo+json" } })
        .then(function (r) {
          if (!r.ok) throw new Error(url + ": HTTP " + r.status);
          return r.json();
        })
        .then(function (data) {
          layer.addData(data);
          rename(layer, name.replace("{n}", String(data.features.length)));
        })
        .catch(function (e) {
          console.error("GridGIS:", e.message);
          G.loadOnAdd(layer, url, name);  // switched on again, it tries again
        });
    });
  };

  /** ``words.notice``: the notice in the page's language (default Chinese). */
  G.finishMap = function (map, words) {
    if (words && words.notice) NOTICE = words.notice;
    L.control.scale({ imperial: false, metric: true }).addTo(map);
    map.eachLayer(function (l) {
      if (l instanceof L.TileLayer) {
        l.on("tileerror", function () { showNotice(map); });
      }
    });
    watchHouseholds(map);
    var place = function () { G.placeLabels(map); };
    map.on("zoomend moveend overlayadd", place);
    place();
  };
})();
