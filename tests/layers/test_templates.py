"""Templates and schemas come from the layer specs: template -> filled -> import."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gis_service.app.cli import app as cli_app
from gis_service.core.cli import render_table
from layers.io.specs import LAYERS
from tests.factories import TOWNSHIP, make_grid, make_township, square
from tests.layers.factories_layers import upload


@pytest.fixture(autouse=True)
def township(session: Session) -> str:
    code = make_township(session)
    make_grid(session, "G1-1", square(102.4, 37.0, 0.3))
    return code


def test_xlsx_template_filled_in_imports(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    response = client.get("/layers/cadres/template", params={"format": "xlsx"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book["网格员"]
    headers = [c.value for c in sheet[1]]
    assert headers[:3] == ["*人员编号(code)", "*姓名(name)", "身份(role)"]
    assert book["值列表"].sheet_state == "hidden"
    lists = [v.sqref for v in sheet.data_validations.dataValidation]
    assert len(lists) == 2  # role and active? role only has values; active is bool
    assert [c.value for c in book["值列表"]["A"]] == [
        "党员",
        "网格员",
        "网格长",
        "村干部",
    ]
    # fill it in as a township would: the example row replaced, two cadres
    sheet.delete_rows(2)
    sheet.append(
        ["C01", "卓玛", "网格长", "13812345678", "G1-1", 12, "是", 102.51, 37.11]
    )
    sheet.append(["C02", "王国栋", "党员", None, "G1-1", None, None, None, None])
    path = tmp_path / "filled.xlsx"
    book.save(path)
    response = upload(client, "cadres", path)
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 2
    rows = session.execute(
        text("SELECT code, role, capacity, active, base IS NULL FROM cadres "
             "WHERE township_code = :t ORDER BY code"), {"t": TOWNSHIP},
    ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [
        ("C01", "grid_leader", 12, True, False),
        ("C02", "party_member", 14, True, True),
    ]


@pytest.mark.parametrize("layer", ["households", "grids", "pasture_parcels"])
def test_csv_template_with_its_example_row_imports(
    client: TestClient, tmp_path: Path, layer: str
) -> None:
    response = client.get(f"/layers/{layer}/template", params={"format": "csv"})
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    path = tmp_path / "t.csv"
    body = response.content
    if layer == "grids":  # the example has a parent; make it a root
        body = body.replace(b",G1,", b",,")
    if layer == "pasture_parcels":  # no such household yet
        body = body.replace(b",H0001,", b",,")
    path.write_bytes(body)
    response = upload(client, layer, path, dry_run=True)
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] + response.json()["updated"] == 1


def test_schema_lists_columns_types_required_values_and_aliases(
    client: TestClient,
) -> None:
    response = client.get("/layers/households/schema")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/schema+json"
    schema = response.json()
    assert schema["required"] == ["code", "head_name"]
    assert schema["properties"]["members"]["type"] == "integer"
    assert "低保" in schema["properties"]["tags"]["items"]["enum"]
    assert "户号" in schema["properties"]["code"]["x-aliases"]
    assert schema["properties"]["tags"]["x-value-aliases"]["低保户"] == "低保"
    roles = client.get("/layers/cadres/schema").json()["properties"]["role"]
    assert roles["enum"] == [
        "party_member",
        "grid_worker",
        "grid_leader",
        "village_cadre",
    ]
    assert client.get("/layers/nope/schema").status_code == 404


def test_every_layer_has_a_template_and_a_description() -> None:
    runner = CliRunner()
    for layer in LAYERS:
        result = runner.invoke(cli_app, ["layers", "describe", layer])
        assert result.exit_code == 0, result.output
        assert f"({layer})" in result.output


GOLDEN = """\
编码   名称       人数   标签
───────────────────────────────────
G1-1   第1网格      12   低保、特困
G10    Grid ten      3
长长   中文名字   1234   残疾"""


def test_tables_align_by_display_width() -> None:
    out = render_table(
        ["编码", "名称", "人数", "标签"],
        [["G1-1", "第1网格", 12, "低保、特困"], ["G10", "Grid ten", 3, None],
         ["长长", "中文名字", 1234, "残疾"]],
        right=[2],
    )  # fmt: skip
    assert out == GOLDEN
