"""Import-time costs the layering promises: the importer does not load OR-Tools."""

from __future__ import annotations

import subprocess
import sys


def _loaded_after(statement: str, prefixes: tuple[str, ...]) -> list[str]:
    """Modules with these prefixes loaded by ``statement`` in a fresh interpreter."""
    code = (
        f"import sys; {statement}; "
        f"print(' '.join(m for m in sys.modules if m.startswith({prefixes!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    return out.stdout.split()


def test_importing_the_layer_importer_does_not_load_ortools() -> None:
    assert _loaded_after("import layers.io.importing", ("ortools",)) == []


def test_maps_render_loads_no_web_or_database_layer() -> None:
    loaded = _loaded_after(
        "import maps.render.page, maps.render.coverage, maps.render.dispute",
        ("fastapi", "sqlalchemy", "geoalchemy2", "ortools"),
    )
    assert loaded == []


# Modules allowed over the limit while being split (none now).
TOO_LONG_FOR_NOW: set[str] = set()


def test_no_module_over_400_lines() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    long = {
        str(path.relative_to(root)): n
        for package in ("gis_service", "grids", "layers", "maps")
        for path in (root / package).rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert set(long) <= TOO_LONG_FOR_NOW, long
