"""Basemaps (OSM, Tianditu, AMap, none) and the GCJ-02 shift AMap needs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import folium
import numpy as np
from branca.element import Element, Figure

from gis_service.core.gcj02 import wgs84_to_gcj02
from gis_service.core.i18n import same
from maps.render.elements import PANES

logger = logging.getLogger(__name__)

BASEMAPS = ("osm", "tianditu", "amap", "none")
MAX_ZOOM = 18
TIANDITU_URL = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
    "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILECOL={x}&TILEROW={y}&TILEMATRIX={z}&tk={key}"
)
AMAP_URL = (
    "https://webrd0{s}.is.autonavi.com/appmaptile"
    "?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
)


@dataclass(frozen=True)
class MapOptions:
    """How a map page is dressed: basemap, its key, where assets come from, words.

    ``gettext`` translates every word the page writes (msgids are the Chinese
    source strings, see ``gis_service.core.i18n``); the renderer stays pure: the
    caller picks the locale.
    """

    basemap: str = "none"
    tianditu_key: str | None = None
    assets: str = "local"  # local | cdn
    asset_base: str = "/static/maps/vendor"
    gettext: Callable[[str], str] = field(default=same, compare=False)

    def __post_init__(self) -> None:
        """Reject unknown choices early (the service maps these to 422s)."""
        if self.basemap not in BASEMAPS:
            raise ValueError(f"basemap {self.basemap!r} is not one of {BASEMAPS}")
        if self.basemap == "tianditu" and not self.tianditu_key:
            raise ValueError(
                "天地图底图需要密钥 (settings.map.tianditu_key / "
                "GRIDGIS_MAP__TIANDITU_KEY): the tianditu basemap needs a key"
            )
        if self.assets not in ("local", "cdn"):
            raise ValueError(f"assets {self.assets!r} is not 'local' or 'cdn'")

    @property
    def shift_gcj02(self) -> bool:
        """AMap tiles are in GCJ-02: overlays must be shifted to match."""
        return self.basemap == "amap"


def new_map(options: MapOptions) -> folium.Map:
    """A folium map with the chosen basemap; no tile layer in offline mode.

    Without a tile layer Leaflet has no maxZoom, which breaks markercluster and
    fitBounds; the map's own ``maxZoom`` is set in every mode.
    """
    m = folium.Map(tiles=None, control_scale=False, zoom_start=12, location=[0, 0])
    m.options["max_zoom"] = MAX_ZOOM
    for pane, z_index, pointer_events in PANES:
        folium.map.CustomPane(
            pane, z_index=z_index, pointer_events=pointer_events
        ).add_to(m)
    _ = options.gettext
    if options.basemap == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", max_zoom=19).add_to(m)
    elif options.basemap == "tianditu":
        for layer, name, overlay in (
            ("vec", _("天地图"), False),
            ("cva", _("天地图注记"), True),
        ):
            folium.TileLayer(
                TIANDITU_URL.replace("{layer}", layer).replace(
                    "{key}", options.tianditu_key or ""
                ),
                attr="&copy; 天地图 (Tianditu)",
                name=name,
                subdomains="01234567",
                overlay=overlay,
                control=not overlay,
                max_zoom=MAX_ZOOM,
            ).add_to(m)
    elif options.basemap == "amap":
        folium.TileLayer(
            AMAP_URL, attr="&copy; 高德地图 (AMap)", name=_("高德地图"),
            subdomains="1234", max_zoom=MAX_ZOOM,
        ).add_to(m)  # fmt: skip
    elif isinstance(figure := m.get_root(), Figure):
        figure.header.add_child(
            Element("<style>.leaflet-container { background: #f4f1ea; }</style>"),
            name="gridgis_nobasemap_css",
        )
    return m


def shift_lonlat(
    lon: np.ndarray, lat: np.ndarray, options: MapOptions
) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates as they must be drawn on the chosen basemap."""
    if not options.shift_gcj02:
        return lon, lat
    return wgs84_to_gcj02(lon, lat)


def shift_geometry(geometry: dict[str, Any] | None, options: MapOptions) -> Any:
    """A GeoJSON geometry with every position shifted for the basemap."""
    if geometry is None or not options.shift_gcj02:
        return geometry
    return {**geometry, "coordinates": _shift_coords(geometry["coordinates"])}


def _shift_coords(coords: Any) -> Any:
    array = np.asarray(coords, dtype=float) if _is_ring(coords) else None
    if array is None:
        return [_shift_coords(part) for part in coords]
    lon, lat = wgs84_to_gcj02(array[..., 0], array[..., 1])
    return np.stack([lon, lat], axis=-1).tolist()


def _is_ring(coords: Any) -> bool:
    """A position or a list of positions (numbers at depth <= 2)."""
    return bool(coords) and (
        isinstance(coords[0], int | float)
        or (
            isinstance(coords[0], list | tuple)
            and isinstance(coords[0][0], int | float)
        )
    )


def shift_collection(collection: dict[str, Any], options: MapOptions) -> dict[str, Any]:
    """A FeatureCollection with shifted geometries (unchanged unless AMap)."""
    if not options.shift_gcj02:
        return collection
    return {
        **collection,
        "features": [
            {**f, "geometry": shift_geometry(f.get("geometry"), options)}
            for f in collection["features"]
        ],
    }
