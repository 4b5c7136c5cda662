"""``gridgis export --out FILE``: the format follows the name, never contradicts it.

``--out f.gpkg`` used to write GeoJSON (the default format) and ``--format shp
--out f.shp`` a zip, both files that QGIS and ogrinfo could not open.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import pyogrio

from gis_service.app.cli import app
from gis_service.core.db import make_engine
from gis_service.core.errors import InvalidInput
from layers.io.export import format_for_file
from layers.io.importing import import_file
from tests.factories import TOWNSHIP, make_township
from tests.layers.factories_layers import households_frame, write


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("f.gpkg", None, "gpkg"),
        ("f.GeoJSON", None, "geojson"),
        ("f.json", None, "geojson"),
        ("f.shp.zip", None, "shp"),
        ("f.zip", "shp", "shp"),
        ("f.dat", "gpkg", "gpkg"),
    ],
)
def test_format_for_file(name: str, fmt: str | None, expected: str) -> None:
    assert format_for_file(Path(name), fmt) == expected


@pytest.mark.parametrize(
    ("name", "fmt", "says"),
    [
        ("f.shp", "shp", "name the file f.shp.zip"),
        ("f.shp", None, "name the file f.shp.zip"),
        ("f.txt", None, "pass --format"),
        ("f.geojson", "gpkg", "name it f.gpkg"),
        ("f.shp.zip", "gpkg", "name it f.gpkg"),
    ],
)
def test_format_for_file_refuses(name: str, fmt: str | None, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        format_for_file(Path(name), fmt)
    assert says in caught.value.detail


def test_cli_export_follows_the_suffix(
    scratch_url: URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(scratch_url.render_as_string(False))
    with Session(engine) as session:
        make_township(session)
    engine.dispose()
    monkeypatch.setenv("GRIDGIS_DATABASE_URL", scratch_url.render_as_string(False))
    runner = CliRunner()

    gpkg = tmp_path / "h.gpkg"
    result = runner.invoke(
        app, ["export", "households", "-t", TOWNSHIP, "--out", str(gpkg)]
    )
    assert result.exit_code == 0, result.output
    assert gpkg.read_bytes().startswith(b"SQLite format 3\x00")
    assert pyogrio.list_layers(gpkg)[0][0] == "households"

    shp_zip = tmp_path / "h.shp.zip"
    result = runner.invoke(
        app, ["export", "households", "-t", TOWNSHIP, "-o", str(shp_zip)]
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(shp_zip) as archive:
        assert sorted(archive.namelist()) == [
            f"households.{s}" for s in ("cpg", "dbf", "prj", "shp", "shx")
        ]

    bare = tmp_path / "h.shp"
    result = runner.invoke(
        app,
        ["export", "households", "-t", TOWNSHIP, "--format", "shp", "-o", str(bare)],
    )
    assert result.exit_code == 1
    assert "name the file h.shp.zip" in result.output
    assert not bare.exists()

    tagged = tmp_path / "tagged.geojson"
    result = runner.invoke(
        app,
        ["export", "households", "-t", TOWNSHIP, "-o", str(tagged),
         "--where", "tag=低保", "--bbox", "102,37,103,38"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert pyogrio.read_info(tagged)["features"] == 0  # the township has none yet
    with Session(engine) as session:
        import_file(
            session,
            township=TOWNSHIP,
            layer="households",
            path=write(households_frame(3), tmp_path / "h.geojson"),
        )
    engine.dispose()
    for args, codes in (
        ([], ["H1", "H2", "H3"]),
        (["--where", "tag=低保"], ["H1"]),  # only H1 is tagged
        (["--bbox", "102.505,37.105,102.515,37.115"], ["H2"]),
    ):
        result = runner.invoke(
            app, ["export", "households", "-t", TOWNSHIP, "-o", str(tagged), *args]
        )
        assert result.exit_code == 0, result.output
        assert sorted(pyogrio.read_dataframe(tagged)["code"]) == codes, args
    result = runner.invoke(
        app,
        ["export", "households", "-t", TOWNSHIP, "-o", str(tagged), "--where", "tag"],
    )
    assert result.exit_code == 1
    assert "is not NAME=VALUE" in result.output
