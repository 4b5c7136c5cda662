"""Files as they come: GBK Shapefiles with no or a lying .cpg, Excel's GBK CSV,
workbooks with several sheets, title rows and merged header cells."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

import geopandas as gpd
from shapely.geometry import Point

from tests.factories import TOWNSHIP, make_township
from tests.layers.factories_layers import count, upload

NAMES = ["多杰", "何玉兰"]


@pytest.fixture(autouse=True)
def township(session: Session) -> str:
    return make_township(session)


def _names(session: Session) -> list[str]:
    return list(
        session.execute(
            text("SELECT head_name FROM households WHERE township_code = :t "
                 "ORDER BY code"), {"t": TOWNSHIP},
        ).scalars()
    )  # fmt: skip


def _gbk_shapefile(tmp: Path, cpg: str | None) -> Path:
    frame = gpd.GeoDataFrame(
        {"code": ["H1", "H2"], "户主": NAMES, "村": ["南泥沟村", "上泥沟村"]},
        geometry=[Point(102.5, 37.1), Point(102.6, 37.1)],
        crs=4326,
    )
    frame.to_file(tmp / "h.shp", encoding="GBK")
    (tmp / "h.cpg").unlink()
    if cpg is not None:
        (tmp / "h.cpg").write_text(cpg)
    out = tmp / "h.zip"
    with zipfile.ZipFile(out, "w") as archive:
        for p in tmp.glob("h.*"):
            if p.suffix != ".zip":
                archive.write(p, p.name)
    return out


@pytest.mark.parametrize("cpg", [None, "UTF-8"], ids=["no-cpg", "lying-cpg"])
def test_a_gbk_shapefile_imports_with_a_warning_naming_the_encoding(
    client: TestClient, session: Session, tmp_path: Path, cpg: str | None
) -> None:
    response = upload(client, "households", _gbk_shapefile(tmp_path, cpg))
    assert response.status_code == 200, response.text
    warning = response.json()["warnings"][0]
    assert "not UTF-8; read as GB18030 (detected)" in warning
    assert _names(session) == NAMES


def test_a_gbk_shapefile_with_encoding_given_has_no_warning(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    response = upload(
        client, "households", _gbk_shapefile(tmp_path, None), encoding="GBK"
    )
    assert response.status_code == 200, response.text
    assert not any("GB18030" in w for w in response.json()["warnings"])
    assert _names(session) == NAMES


def _csv(tmp: Path, encoding: str) -> Path:
    path = tmp / "h.csv"
    path.write_bytes(
        "户号,户主,经度,纬度\nH1,多杰,102.5,37.1\nH2,何玉兰,102.6,37.1\n".encode(
            encoding
        )
    )
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_with_or_without_bom_and_excels_gbk(
    client: TestClient, session: Session, tmp_path: Path, encoding: str
) -> None:
    response = upload(client, "households", _csv(tmp_path, encoding))
    assert response.status_code == 200, response.text
    detected = [w for w in response.json()["warnings"] if "detected" in w]
    assert len(detected) == (encoding == "gbk")
    assert _names(session) == NAMES


def test_undecodable_bytes_are_a_422_naming_encoding(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    path = _csv(tmp_path, "gbk")
    response = upload(client, "households", path, encoding="ascii")
    assert response.status_code == 422
    assert "--encoding" in response.json()["detail"]
    assert count(session, "households") == 0


def test_a_workbook_with_title_rows_merged_headers_and_sheets(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    book = Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "说明"
    notes["A1"] = "填表说明：每户一行"
    sheet = book.create_sheet("农户")
    sheet["A1"] = "某某镇农户信息表"
    sheet.merge_cells("A1:E1")
    sheet.append(["户号", "户主信息", None, "经度", "纬度"])
    sheet.merge_cells("B2:C2")
    sheet.merge_cells("A2:A3")
    sheet.append([None, "户主姓名", "家庭人口", None, None])
    sheet.append(["H1", "多杰", 5, 102.5, 37.1])
    sheet.append(["H2", "何玉兰", 3, 102.6, 37.1])
    sheet.append(["H3", None, 2, 102.7, 37.1])
    other = book.create_sheet("旧数据")
    other.append(["户号", "户主"])
    path = tmp_path / "h.xlsx"
    book.save(path)
    response = upload(client, "households", path)
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert (error["row"], error["code"], error["field"]) == (6, "H3", "head_name")
    warnings = response.json()["warnings"]
    assert any("--sheet" in w for w in warnings)

    sheet.delete_rows(6)
    book.save(path)
    response = upload(client, "households", path, layer="农户")
    assert response.status_code == 200, response.text
    assert _names(session) == NAMES
    members = session.execute(
        text("SELECT members FROM households WHERE township_code = :t ORDER BY code"),
        {"t": TOWNSHIP},
    ).scalars()
    assert list(members) == [5, 3]
    response = upload(client, "households", path, layer="nope")
    assert response.status_code == 422
    assert "农户" in response.json()["detail"]
