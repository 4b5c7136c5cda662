"""One self-contained HTML file: every vendored script and stylesheet inlined.

``gridgis map … --single-file`` writes a map that can be sent as one file: the
``<script src="vendor/…">`` and ``<link rel="stylesheet" href="vendor/…">`` of
the page are replaced by their contents; inside the stylesheets, images and
the one font the maps use (Font Awesome's solid glyphs, in WOFF2, which every
browser that runs Leaflet 1.9 reads) become ``data:`` URIs; the other fonts
(brands, regular, v4 shims, TTF fallbacks) are dropped.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from pathlib import Path, PurePosixPath

from gis_service.core.errors import InvalidInput

_SCRIPT = re.compile(r'<script src="vendor/([^"]+)"></script>')
_STYLE = re.compile(r'<link rel="stylesheet" href="vendor/([^"]+)"/?>')
_URL = re.compile(r"url\((['\"]?)([^'\")]+)\1\)")
_FONT_SRC = re.compile(r"src:\s*([^;}]+)")
FONTS_USED = ("fa-solid-900.woff2",)
_MEDIA = {".woff2": "font/woff2", ".png": "image/png", ".svg": "image/svg+xml"}


def _vendor_file(vendor: Path, rel: str) -> Path:
    path = PurePosixPath(rel)
    target = vendor.joinpath(*path.parts)
    if ".." in path.parts or not target.is_file():
        raise InvalidInput(f"map asset {rel!r} is missing (run `make assets`)")
    return target


def _data_uri(path: Path) -> str:
    media = _MEDIA.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    payload = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:{media or 'application/octet-stream'};base64,{payload}"


def _inline_css(css: str, folder: Path) -> str:
    """Fonts (WOFF2 only) and images of a stylesheet as data: URIs."""
    seen: set[str] = set()

    def first_use(source: str) -> bool:
        for font in FONTS_USED:
            if font in source and font not in seen:
                seen.add(font)
                return True
        return False

    def keep_woff2(match: re.Match[str]) -> str:
        # Font Awesome declares its solid font three times (v6, v5 and v4 names):
        # only the first, the v6 face GridGIS's icons use, carries the font.
        sources = [s.strip() for s in match.group(1).split(",")]
        if not any("url(" in s for s in sources):
            return match.group(0)
        kept = [s for s in sources if "url(" not in s or first_use(s)]
        return "src:" + ",".join(kept) if kept else "src:local('none')"

    def embed(match: re.Match[str]) -> str:
        ref = match.group(2).split("?")[0].split("#")[0]
        if ref.startswith(("data:", "http:", "https:", "//")):
            return match.group(0) if ref.startswith("data:") else "url(data:,)"
        target = (folder / ref).resolve()
        if not target.is_file():
            return "url(data:,)"
        return f"url({_data_uri(target)})"

    return _URL.sub(embed, _FONT_SRC.sub(keep_woff2, css))


def inline_assets(page: str, vendor: Path) -> str:
    """``page`` (rendered with asset base ``vendor``) with its assets inside it."""

    def script(match: re.Match[str]) -> str:
        code = _vendor_file(vendor, match.group(1)).read_text(encoding="utf-8")
        return "<script>" + code.replace("</script", "<\\/script") + "</script>"

    def style(match: re.Match[str]) -> str:
        path = _vendor_file(vendor, match.group(1))
        css = _inline_css(path.read_text(encoding="utf-8"), path.parent)
        return "<style>" + css.replace("</style", "<\\/style") + "</style>"

    return _STYLE.sub(style, _SCRIPT.sub(script, page))
