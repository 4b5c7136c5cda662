"""Text from data is never evaluated as a template on the server (maps.render.literal).

branca compiled each element's rendered output as a Jinja template and rendered
it again: a grid named ``{{ 6*7 }}`` was drawn as "42". Every text column of
every layer gets a template payload here, every map is rendered, and the payload
must come back as written. The override must not change anything else: a map
renders byte-identical (random element ids aside) with the libraries' renderers.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import folium
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from maps.render import literal
from tests.factories import TOWNSHIP
from tests.maps.factories_maps import AS_OF, build_map_township
from tests.maps.test_map_xss import poison

PAYLOAD = "QQ{{ 6*7 }}{% if true %}TT{% endif %}ZZ"
EVALUATED = ("QQ42", "TTZZ")


def test_template_text_in_data_comes_back_as_written(
    client: TestClient, session: Session
) -> None:
    township = build_map_township(session)
    poisoned = poison(session, PAYLOAD)
    assert {"grids", "cadres", "households", "hazards", "townships"} <= set(poisoned)
    session.flush()
    cadres = session.execute(
        text("SELECT code FROM cadres WHERE township_code = :t"), {"t": TOWNSHIP}
    ).scalars()
    when = f"as_of={quote(AS_OF.isoformat())}&basemap=none"
    base = f"/townships/{TOWNSHIP}/maps"
    pages = [
        f"{base}/coverage?{when}",
        *(f"{base}/routes/{quote(c, safe='')}?{when}" for c in cadres),
        f"{base}/disputes/{township.dispute}?basemap=none",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        page = response.text
        assert not any(e in page for e in EVALUATED), path
        assert "{{ 6*7 }}" in page, path  # the payload is there, as written


def _sample_map() -> folium.Map:
    m = folium.Map(tiles=None, location=[37.1, 102.5], zoom_start=12)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": [{"type": "Feature",
         "geometry": {"type": "Point", "coordinates": [102.5, 37.1]},
         "properties": {"name": "户主", "n": 3}}]},
        tooltip=folium.GeoJsonTooltip(fields=["name"]),
        popup=folium.GeoJsonPopup(fields=["n"]),
        style_function=lambda _f: {"color": "#123456"},
    ).add_to(m)  # fmt: skip
    folium.Marker(
        [37.1, 102.5], tooltip="提示", popup=folium.Popup("<b>弹出</b>", max_width=200),
        icon=folium.DivIcon(html="<div>标签</div>"),
    ).add_to(m)  # fmt: skip
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def _ids_out(page: str) -> str:
    return re.sub(r"[0-9a-f]{32}", "ID", page)


def test_the_override_renders_as_the_libraries_do() -> None:
    literal.uninstall()
    try:
        theirs = _ids_out(_sample_map().get_root().render())
    finally:
        literal.install()
    ours = _ids_out(_sample_map().get_root().render())
    assert ours == theirs
