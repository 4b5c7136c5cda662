"""Map page assets (Leaflet, plugins, jQuery, Bootstrap, Font Awesome) served locally.

Folium links its JavaScript and CSS from CDNs, so with no internet (this machine,
many township offices) a map shows nothing. The same files are fetched once at
INSTALL time from the npm registry (``python -m maps.assets fetch``, run by
``make assets``) into ``maps/static/vendor`` (git-ignored) and every map's asset
URLs are rewritten to them; ``settings.map.assets = "cdn"`` keeps folium's links.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from branca.element import Element

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
VENDOR_DIR = STATIC_DIR / "vendor"
STAMP = VENDOR_DIR / "manifest.json"
URL_PREFIX = "/static/maps"

# npm package -> (path inside the package, where it goes under vendor/). Versions
# follow the ones folium 0.20 links from its CDNs (newest patch where folium's is
# not on npm).
NPM_PACKAGES: dict[str, list[tuple[str, str]]] = {
    "leaflet@1.9.3": [("dist", "leaflet")],
    "jquery@3.7.1": [("dist/jquery.min.js", "jquery/jquery.min.js")],
    "bootstrap@5.2.2": [
        ("dist/js/bootstrap.bundle.min.js", "bootstrap/bootstrap.bundle.min.js"),
        ("dist/css/bootstrap.min.css", "bootstrap/bootstrap.min.css"),
    ],
    "@fortawesome/fontawesome-free@6.2.0": [
        ("css/all.min.css", "fontawesome/css/all.min.css"),
        ("webfonts", "fontawesome/webfonts"),
    ],
    "leaflet.awesome-markers@2.0.5": [("dist", "awesome-markers")],
    "leaflet.markercluster@1.5.3": [("dist", "markercluster")],
    # the coverage map's households from vector tiles, above a household count
    "leaflet.vectorgrid@1.3.0": [
        (
            "dist/Leaflet.VectorGrid.bundled.min.js",
            "vectorgrid/Leaflet.VectorGrid.bundled.min.js",
        )
    ],
    # Not served to users: the workbench's accessibility test injects it.
    "axe-core@4.10.2": [("axe.min.js", "axe/axe.min.js")],
    # Not a map asset: the API docs page (/docs) uses it, so it works offline too.
    "swagger-ui-dist@5.35.0": [
        ("swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"),
        ("swagger-ui.css", "swagger-ui/swagger-ui.css"),
    ],
}

# folium's asset names (its default_js/default_css keys) -> file under vendor/.
# None drops the link: the Bootstrap 3 glyphicons and folium's rotate patch are
# not published on npm and no GridGIS map uses them.
LOCAL_FILES: dict[str, str | None] = {
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
    "jquery": "jquery/jquery.min.js",
    "bootstrap": "bootstrap/bootstrap.bundle.min.js",
    "bootstrap_css": "bootstrap/bootstrap.min.css",
    "glyphicons_css": None,
    "awesome_markers": "awesome-markers/leaflet.awesome-markers.js",
    "awesome_markers_css": "awesome-markers/leaflet.awesome-markers.css",
    "awesome_markers_font_css": "fontawesome/css/all.min.css",
    "awesome_rotate_css": None,
    "markerclusterjs": "markercluster/leaflet.markercluster.js",
    "markercluster": "markercluster/leaflet.markercluster.js",
    "markerclustercss": "markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "markercluster/MarkerCluster.Default.css",
    "vectorgrid": "vectorgrid/Leaflet.VectorGrid.bundled.min.js",
}


def _manifest() -> dict[str, Any]:
    try:
        stamp: dict[str, Any] = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def _missing() -> list[str]:
    """Packages of NPM_PACKAGES not yet unpacked (a version bump is a new one)."""
    have = set(_manifest().get("packages") or [])
    return [spec for spec in NPM_PACKAGES if spec not in have]


def assets_available() -> bool:
    """Whether ``fetch_assets`` has unpacked every package of the current list.

    Checked package by package, not by a digest of the whole list: a checkout that
    adds a package fetches just that one, and checkouts sharing the vendor folder
    keep working with the packages they know.
    """
    return not _missing()


def fetch_assets(*, force: bool = False) -> list[str]:
    """Download the missing npm packages with ``npm pack``, unpack what maps use."""
    wanted = list(NPM_PACKAGES) if force else _missing()
    if not wanted:
        return []
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "npm is needed once to fetch the map assets (apt install npm)"
        )
    fetched = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in wanted:
            out = subprocess.run(
                [npm, "pack", spec, "--json", "--pack-destination", tmp],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            tarball = Path(tmp) / json.loads(out)[0]["filename"]
            with tarfile.open(tarball) as archive:
                archive.extractall(Path(tmp) / spec.replace("/", "_"), filter="data")
            root = Path(tmp) / spec.replace("/", "_") / "package"
            for src, dest in NPM_PACKAGES[spec]:
                _copy(root / src, VENDOR_DIR / dest)
            fetched.append(spec)
    stamp = _manifest()
    stamp["packages"] = list(dict.fromkeys([*(stamp.get("packages") or []), *fetched]))
    STAMP.parent.mkdir(parents=True, exist_ok=True)
    STAMP.write_text(json.dumps(stamp))
    logger.info("map assets fetched into %s", VENDOR_DIR)
    return fetched


def _copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dest, dirs_exist_ok=True)
    else:
        shutil.copy2(src, dest)


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def localize_assets(root: Element, base_url: str = URL_PREFIX + "/vendor") -> Element:
    """Point every folium JS/CSS link of ``root``'s tree at ``base_url``.

    Folium adds links when it renders, from each element's ``default_js`` and
    ``default_css``; overriding those lists on the instances is enough.
    """
    for element in _walk(root):
        for attr in ("default_js", "default_css"):
            links: list[tuple[str, str]] | None = getattr(element, attr, None)
            if links:
                setattr(element, attr, _rewrite(links, base_url))
    return root


def _rewrite(links: list[tuple[str, str]], base_url: str) -> list[tuple[str, str]]:
    out = []
    for name, url in links:
        if name not in LOCAL_FILES:
            logger.warning("map asset %s (%s) has no local copy; kept", name, url)
            out.append((name, url))
        elif (local := LOCAL_FILES[name]) is not None:
            out.append((name, f"{base_url.rstrip('/')}/{local}"))
    return out


def copy_assets(dest: Path) -> Path:
    """Copy the vendored assets beside an exported map so the file opens offline."""
    target = dest / "vendor"
    shutil.copytree(VENDOR_DIR, target, dirs_exist_ok=True)
    return target


def main(argv: list[str] | None = None) -> int:
    """``python -m maps.assets fetch [--force]``: the install-time step."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "fetch":
        sys.stderr.write("usage: python -m maps.assets fetch [--force]\n")
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    fetched = fetch_assets(force="--force" in args)
    sys.stderr.write(
        f"map assets: {len(fetched)} packages fetched\n"
        if fetched
        else "map assets: up to date\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
