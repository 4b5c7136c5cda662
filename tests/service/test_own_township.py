"""A first-time user's own township: add it, then import grids, cadres, households.

The README's "Import your own township" walkthrough, as tests: without a way to
add a township every import answered "township ... does not exist".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from gis_service.app.cli import app

CODE = "620623102000"

GRIDS = {
    "type": "FeatureCollection",
    "features": [
        {  # the child first: parents may come later in the same file
            "type": "Feature",
            "properties": {"code": "G1-1", "name": "第1网格", "level": "grid",
                           "parent_code": "G1"},
            "geometry": {"type": "Polygon", "coordinates": [[
                [102.50, 37.10], [102.52, 37.10], [102.52, 37.12], [102.50, 37.12],
                [102.50, 37.10]]]},
        },
        {
            "type": "Feature",
            "properties": {"code": "G1", "name": "一号片区", "level": "domain",
                           "parent_code": None},
            "geometry": {"type": "Polygon", "coordinates": [[
                [102.50, 37.10], [102.54, 37.10], [102.54, 37.12], [102.50, 37.12],
                [102.50, 37.10]]]},
        },
    ],
}  # fmt: skip
CADRES = (
    "code,name,role,phone,home_grid_code,capacity,lon,lat\n"
    "C01,卓玛,grid_worker,13812345678,G1-1,14,102.51,37.11\n"
)
HOUSEHOLDS = (
    "code,head_name,members,village,tags,id_number,phone,lon,lat\n"
    "H0001,多杰,5,南泥沟村,,620623198001011234,13812345678,102.505,37.105\n"
    'H0002,何玉兰,3,南泥沟村,"低保,脱贫不稳定户",,,102.515,37.115\n'
    "H0003,索南,4,上泥沟村,,,,102.535,37.105\n"
)


def test_put_township_creates_then_renames(client: TestClient) -> None:
    first = client.put(f"/townships/{CODE}", json={"name": "哈溪镇"})
    assert first.status_code == 200
    assert first.json() == {"code": CODE, "name": "哈溪镇", "county": None,
                            "created": True}  # fmt: skip
    again = client.put(
        f"/townships/{CODE}", json={"name": "哈溪镇", "county": "天祝县"}
    )
    assert again.status_code == 200
    assert again.json()["created"] is False and again.json()["county"] == "天祝县"
    listed = [t["code"] for t in client.get("/townships").json()]
    assert listed.count(CODE) == 1
    upload = client.post(
        f"/townships/{CODE}/layers/grids/import",
        files={"file": ("grids.geojson", json.dumps(GRIDS), "application/geo+json")},
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["inserted"] == 2


@pytest.mark.parametrize(
    ("code", "body", "field"),
    [
        ("62062310200", {"name": "x"}, "code"),
        ("62062310200a", {"name": "x"}, "code"),
        (CODE, {"name": "   "}, "name"),
    ],
)
def test_put_township_refuses_bad_input(
    client: TestClient, code: str, body: dict[str, str], field: str
) -> None:
    response = client.put(f"/townships/{code}", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_unknown_township_says_how_to_add_it(client: TestClient) -> None:
    response = client.get("/townships/620623199000/layers/grids/items")
    assert response.status_code == 404
    assert "PUT /townships/620623199000" in response.json()["detail"]


def test_cli_walkthrough(
    scratch_url: URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDGIS_DATABASE_URL", scratch_url.render_as_string(False))
    (tmp_path / "grids.geojson").write_text(json.dumps(GRIDS), encoding="utf-8")
    (tmp_path / "cadres.csv").write_text(CADRES, encoding="utf-8")
    (tmp_path / "households.csv").write_text(HOUSEHOLDS, encoding="utf-8")
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    refused = runner.invoke(
        app, ["import", "grids", str(tmp_path / "grids.geojson"), "-t", CODE]
    )
    assert refused.exit_code == 1
    assert f"add it: gridgis townships add {CODE} --name NAME" in refused.output

    assert run("townships", "add", CODE, "--name", "哈溪镇").strip() == (
        f"township {CODE} 哈溪镇 created"
    )
    dry = run("import", "grids", str(tmp_path / "grids.geojson"), "-t", CODE,
              "--dry-run")  # fmt: skip
    assert "读取网格 2 条 (EPSG:4326): 新增 2, 更新 0, 未变 0 — 试运行, 未写入" in dry
    for layer, name, inserted in (
        ("grids", "grids.geojson", 2),
        ("cadres", "cadres.csv", 1),
        ("households", "households.csv", 3),
    ):
        report = json.loads(
            run("import", layer, str(tmp_path / name), "-t", CODE, "--json")
        )
        assert (report["inserted"], report["rejected"], report["written"]) == (
            inserted, 0, True,
        )  # fmt: skip
    again = json.loads(run("import", "households", str(tmp_path / "households.csv"),
                           "-t", CODE, "--json"))  # fmt: skip
    assert (again["inserted"], again["unchanged"]) == (0, 3)

    rows = json.loads(run("grids", "report", "-t", CODE, "--json"))
    by_code = {r["code"]: r for r in rows}
    # the import assigned them already: H0003 lies in G1 but in no grid with a cadre
    assert {c: (r["households"], r["assigned"]) for c, r in by_code.items()} == {
        "G1": (3, 2),
        "G1-1": (2, 2),
    }
    listed = run("townships", "list")
    assert f"{CODE}  哈溪镇  (3 households)" in listed
