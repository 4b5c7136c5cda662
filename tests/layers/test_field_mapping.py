"""Files with other column names: Chinese headers map by themselves, resemblances
are named with the exact ``--map`` to pass, a missing column is one error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import geopandas as gpd

from gis_service.app.cli import app as cli_app
from gis_service.core.columns import header_keys, parse_field_map
from gis_service.core.errors import InvalidInput
from tests.factories import TOWNSHIP, make_grid, make_township, square
from tests.layers.factories_layers import count, upload, write


@pytest.fixture(autouse=True)
def township(session: Session) -> str:
    return make_township(session)


@pytest.fixture
def cli(session: Session, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI on the test's session (rolled back with it)."""

    @contextmanager
    def on_session() -> Iterator[Session]:
        yield session

    monkeypatch.setattr("gis_service.core.cli.cli_session", on_session)
    monkeypatch.setattr("layers.io.cli.cli_session", on_session)
    return CliRunner()


def _chinese_households(tmp: Path) -> Path:
    frame = pd.DataFrame(
        {
            "户号": ["H1", "H2", "H3"],
            "*户主姓名": ["多杰", "何玉兰", "索南"],
            "家庭人口": ["5", "3", "4"],
            "所属村": ["南泥沟村", "南泥沟村", "上泥沟村"],
            "户类别": ["低保户、五保户", "", "残疾人"],
            "身份证号码": ["", "", ""],
            "手机号": ["13812345678", "", ""],
            "经度": ["102.505", "102.515", "102.535"],
            "纬度": ["37.105", "37.115", "37.105"],
        }
    )
    path = tmp / "农户.csv"
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def test_a_households_sheet_with_only_chinese_headers_imports(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    response = upload(client, "households", _chinese_households(tmp_path))
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 3
    assert response.json()["warnings"] == [
        "the file has no coordinate system; assumed EPSG:4326 (WGS84)"
    ]
    rows = session.execute(
        text(
            "SELECT code, head_name, members, village, tags, phone FROM households "
            "WHERE township_code = :t ORDER BY code"
        ),
        {"t": TOWNSHIP},
    ).all()
    assert [tuple(r) for r in rows] == [
        ("H1", "多杰", 5, "南泥沟村", ["低保", "五保"], "13812345678"),
        ("H2", "何玉兰", 3, "南泥沟村", [], None),
        ("H3", "索南", 4, "上泥沟村", ["残疾"], None),
    ]


def _grids(tmp: Path, parent_column: str = "parent_id") -> Path:
    frame = gpd.GeoDataFrame(
        {
            "code": ["G1", "G1-1", "G1-2"],
            "name": ["一号片区", "第1网格", "第2网格"],
            "level": ["domain", "grid", "grid"],
            parent_column: [None, "G1", "G1"],
        },
        geometry=[
            square(102.5, 37.1, 0.04),
            square(102.5, 37.1, 0.02),
            square(102.52, 37.1, 0.02),
        ],
        crs=4326,
    )
    return write(frame, tmp / "grids.geojson")


def test_a_grids_file_with_parent_id_is_refused_with_the_map_to_pass(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    path = _grids(tmp_path)
    response = upload(client, "grids", path)
    assert response.status_code == 422, response.text
    body = response.json()
    assert len(body["errors"]) == 1
    assert body["errors"][0]["field"] == "parent_code"
    assert body["errors"][0]["feature"] is None
    assert "--map parent_code=parent_id" in body["errors"][0]["reason"]
    assert "--map parent_code=parent_id" in body["detail"]
    assert count(session, "grids") == 0

    response = upload(client, "grids", path, field_map="parent_code=parent_id")
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 3
    depths = session.execute(
        text("SELECT code, depth FROM grids WHERE township_code = :t ORDER BY code"),
        {"t": TOWNSHIP},
    ).all()
    assert [tuple(r) for r in depths] == [("G1", 0), ("G1-1", 1), ("G1-2", 1)]


def test_the_cli_names_the_map_and_takes_it(
    cli: CliRunner, session: Session, tmp_path: Path
) -> None:
    path = _grids(tmp_path, "上级")
    result = cli.invoke(cli_app, ["import", "grids", str(path), "-t", TOWNSHIP])
    assert result.exit_code == 1
    assert "--map parent_code=上级" in result.output
    assert "Traceback" not in result.output
    result = cli.invoke(
        cli_app,
        ["import", "grids", str(path), "-t", TOWNSHIP, "--map", "parent_code=上级"],
    )
    assert result.exit_code == 0, result.output
    assert "读取网格 3 条" in result.output
    assert "[1] 读取 3 条" in result.output  # stage progress (stderr)
    assert "[3] 写入: 新增 3, 更新 0, 已重新分配网格员" in result.output


def test_a_missing_required_column_is_one_error(
    client: TestClient, tmp_path: Path
) -> None:
    rows = 1200
    frame = pd.DataFrame(
        {
            "code": [f"H{i}" for i in range(rows)],
            "members": ["2"] * rows,
            "lon": ["102.5"] * rows,
            "lat": ["37.1"] * rows,
        }
    )
    path = tmp_path / "h.csv"
    frame.to_csv(path, index=False)
    response = upload(client, "households", path)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["rejected"] == rows
    assert body["errors"] == [
        {
            "feature": None,
            "code": None,
            "field": "head_name",
            "reason": "the file has no head_name column (户主姓名), which 1200 new "
            "feature(s) need; name it with --map head_name=COLUMN",
            "features": rows,
        }
    ]


def test_an_id_column_is_named_for_the_missing_code(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    frame = pd.DataFrame(
        {"id": ["H1", "H2"], "head": ["甲", "乙"], "lon": [102.5, 102.6],
         "lat": [37.1, 37.2]}
    )  # fmt: skip
    path = tmp_path / "h.csv"
    frame.to_csv(path, index=False)
    response = upload(client, "households", path)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["code"]
    assert "--map code=id" in errors[0]["reason"]
    response = upload(client, "households", path, field_map='{"code": "id"}')
    assert response.status_code == 200, response.text
    assert count(session, "households") == 2


def test_parcels_with_an_unmapped_holder_column_keep_their_holders(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    make_grid(session, "G1", square(102.4, 37.0, 0.3))
    households = pd.DataFrame({"户号": ["H1"], "户主": ["甲"], "经度": [102.5],
                               "纬度": [37.1]})  # fmt: skip
    households.to_csv(tmp_path / "h.csv", index=False)
    assert upload(client, "households", tmp_path / "h.csv").status_code == 200
    parcels = gpd.GeoDataFrame(
        {"合同编号": ["CB-1"], "holder_id": ["H1"], "承包面积（亩）": [12.5]},
        geometry=[square(102.5, 37.1, 0.01)],
        crs=4326,
    )
    path = write(parcels, tmp_path / "p.gpkg")
    response = upload(client, "parcels", path, repair=True)
    assert response.status_code == 422, response.text
    assert "--map holder_code=holder_id" in response.json()["errors"][0]["reason"]
    assert count(session, "pasture_parcels") == 0
    response = upload(
        client, "parcels", path, repair=True, field_map="holder_code=holder_id"
    )
    assert response.status_code == 200, response.text
    row = session.execute(
        text(
            "SELECT h.code, p.contract_area_mu FROM pasture_parcels p "
            "JOIN households h ON h.id = p.holder_household_id "
            "AND h.township_code = p.township_code"
        )
    ).one()
    assert (row[0], float(row[1])) == ("H1", 12.5)


def test_value_aliases_for_roles(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    frame = pd.DataFrame(
        {"人员编号": ["C1", "C2", "C3", "C4"], "姓名": ["甲", "乙", "丙", "丁"],
         "身份": ["党员", "网格长", "村干部", "Grid Worker"]}
    )  # fmt: skip
    frame.to_csv(tmp_path / "c.csv", index=False)
    response = upload(client, "cadres", tmp_path / "c.csv")
    assert response.status_code == 200, response.text
    roles = session.execute(
        text("SELECT role FROM cadres WHERE township_code = :t ORDER BY code"),
        {"t": TOWNSHIP},
    ).scalars()
    assert list(roles) == [
        "party_member",
        "grid_leader",
        "village_cadre",
        "grid_worker",
    ]


def test_bad_maps_are_one_422(client: TestClient, tmp_path: Path) -> None:
    path = _chinese_households(tmp_path)
    response = upload(client, "households", path, field_map="nonsense=户号")
    assert response.status_code == 422
    assert "no field 'nonsense'" in response.json()["detail"]
    response = upload(client, "households", path, field_map="code=编号X")
    assert response.status_code == 422
    assert "no column '编号X'" in response.json()["detail"]
    with pytest.raises(InvalidInput):
        parse_field_map(["code"])


def test_headers_are_compared_loosely() -> None:
    assert header_keys("*户主姓名(head_name)") == [
        "head_name",
        "户主姓名",
        "户主姓名(head_name)",
    ]
    assert header_keys("承包面积（亩）") == ["承包面积(亩)"]
    assert parse_field_map(["a=b,c=d", "e = f"]) == {"a": "b", "c": "d", "e": "f"}
    assert json.loads(json.dumps(parse_field_map('{"x": "y"}'))) == {"x": "y"}
