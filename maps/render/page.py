"""What every GridGIS map page shares: bounds, finishing touches, HTML output."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import folium
import numpy as np
from branca.element import Figure

from gis_service.core.i18n import same
from gis_service.core.units import MU_M2
from maps.assets import localize_assets
from maps.render import literal
from maps.render.basemaps import MapOptions
from maps.render.elements import NOTICE, PageFinish, add_page_assets

literal.install()  # data in a map is never evaluated as a template (see literal)


def to_html(m: folium.Map) -> str:
    """The complete HTML page of a map."""
    return str(m.get_root().render())


def finish_map(
    m: folium.Map, options: MapOptions, bounds: np.ndarray | None, *, title: str
) -> None:
    """Title, page assets, view fitted to ``bounds``, collapsed layer control, scale.

    ``title`` is plain text (escaped here): branca writes ``<title>`` unescaped.
    """
    figure = m.get_root()
    if isinstance(figure, Figure):
        figure.title = html.escape(title)
    add_page_assets(m)
    if bounds is not None:
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], padding=(12, 12))
    folium.LayerControl(collapsed=True).add_to(m)
    m.add_child(PageFinish({"notice": options.gettext(NOTICE)}))
    if options.assets == "local":
        localize_assets(m, options.asset_base)


def bounds_of(
    collections: Sequence[dict[str, Any]], lon: Sequence[float], lat: Sequence[float]
) -> np.ndarray | None:
    """[minx, miny, maxx, maxy] over feature collections and points (None: empty)."""
    xs, ys = list(lon), list(lat)
    for collection in collections:
        for feature in collection["features"]:
            coords = np.asarray(_positions(feature["geometry"]["coordinates"]))
            if coords.size:
                xs.extend((coords[:, 0].min(), coords[:, 0].max()))
                ys.extend((coords[:, 1].min(), coords[:, 1].max()))
    if not xs:
        return None
    return np.array([min(xs), min(ys), max(xs), max(ys)])


def _positions(coords: Any) -> list[Any]:
    if coords and isinstance(coords[0], int | float):
        return [coords]
    out: list[Any] = []
    for part in coords:
        out.extend(_positions(part))
    return out


def html_table(rows: Iterable[tuple[str, Any]]) -> str:
    """A two-column popup table, escaped, skipping empty values."""
    body = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows
        if v not in (None, "")
    )
    return f"<table class='gridgis-popup'>{body}</table>"


def escaped_features(
    features: Iterable[dict[str, Any]], fields: Iterable[str]
) -> list[dict[str, Any]]:
    """Copies of GeoJSON features whose tooltip ``fields`` are HTML-escaped.

    folium's GeoJsonTooltip puts property values into ``innerHTML`` as they are,
    so a grid named ``<img onerror=...>`` would run; the originals stay raw.
    """
    names = list(fields)
    return [
        {
            **f,
            "properties": {
                **f["properties"],
                **{
                    k: html.escape(str(f["properties"][k]))
                    for k in names
                    if isinstance(f["properties"].get(k), str)
                },
            },
        }
        for f in features
    ]


def tooltip_text(text: str) -> str:
    """A plain-text tooltip for folium (which renders tooltip text as HTML)."""
    return html.escape(text)


def area_text(m2: float | None, gettext: Callable[[str], str] = same) -> str:
    """An area in m² and mu (亩), as parcels are reported."""
    if m2 is None:
        return "—"
    return gettext("{m2} m² ({mu} 亩)").format(m2=f"{m2:,.0f}", mu=f"{m2 / MU_M2:,.2f}")
