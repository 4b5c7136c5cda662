"""XLSX formula cells import with the values the spreadsheet saved beside them;
a formula saved without a value (as scripts write them) is a 422 naming the cell.

openpyxl computes no formulas: it writes ``<f>`` with an empty ``<v/>``. The
workbook Excel or WPS would save is made here by putting the cached values into
the sheet's XML, as they do (plain and shared formulas, a text result).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.factories import TOWNSHIP, make_township
from tests.layers.factories_layers import PROBLEM, upload

SHEET = "xl/worksheets/sheet1.xml"


def _workbook(path: Path) -> Path:
    """户号 and 人口 are formulas (人口 = 男 + 女), the way an office fills them."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "农户"
    sheet.append(["户号", "户主", "男", "女", "人口", "经度", "纬度"])
    sheet.append(["H1", "多杰", 2, 3, "=C2+D2", 102.5, 37.1])
    sheet.append(['="H"&(1+1)', "卓玛", 1, 1, "=C3+D3", 102.51, 37.11])
    book.save(path)
    return path


def _save_values(path: Path, cells: dict[str, str]) -> Path:
    """Put saved values beside formulas, as Excel/WPS write them.

    ``cells`` maps a reference to its new ``<c>`` body; the rest of the package
    is copied unchanged.
    """
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    xml = parts[SHEET].decode()
    for ref, body in cells.items():
        xml, n = re.subn(rf'<c r="{ref}"[^>]*>.*?</c>', f'<c r="{ref}"{body}</c>', xml)
        assert n == 1, ref
    parts[SHEET] = xml.encode()
    out = path.with_name(f"saved_{path.name}")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out


def test_formula_cells_import_their_saved_values(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    make_township(session)
    path = _save_values(
        _workbook(tmp_path / "h.xlsx"),
        {
            "A3": ' t="str"><f>"H"&amp;(1+1)</f><v>H2</v>',
            "E2": '><f t="shared" ref="E2:E3" si="0">C2+D2</f><v>5</v>',
            "E3": '><f t="shared" si="0"/><v>2</v>',
        },
    )
    response = upload(client, "households", path)
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 2
    rows = session.execute(
        text("SELECT code, head_name, members FROM households "
             "WHERE township_code = :t ORDER BY code"),
        {"t": TOWNSHIP},
    ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [("H1", "多杰", 5), ("H2", "卓玛", 2)]


def test_a_formula_without_a_saved_value_is_refused_by_cell(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    make_township(session)
    path = _save_values(
        _workbook(tmp_path / "h.xlsx"),
        {"A3": ' t="str"><f>"H"&amp;(1+1)</f><v>H2</v>', "E2": "><f>C2+D2</f><v>5</v>"},
    )  # E3 keeps openpyxl's formula with no value
    response = upload(client, "households", path)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert "'农户' cell E3 (first: E3 =C3+D3)" in problem["detail"]
    assert "Excel or WPS" in problem["detail"]
    assert problem["errors"] == [
        {"field": "农户!E3", "reason": "formula without a saved value"}
    ]
    # a workbook straight from a script names every such cell
    raw = upload(client, "households", tmp_path / "h.xlsx").json()
    assert [e["field"] for e in raw["errors"]] == ["农户!E2", "农户!A3", "农户!E3"]
    assert session.execute(text("SELECT count(*) FROM households")).scalar_one() == 0


def test_an_empty_text_result_is_a_saved_value(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    make_township(session)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["户号", "户主", "村", "经度", "纬度"])
    sheet.append(["H1", "多杰", '=""', 102.5, 37.1])
    book.save(tmp_path / "v.xlsx")
    path = _save_values(tmp_path / "v.xlsx", {"C2": ' t="str"><f>""</f><v></v>'})
    response = upload(client, "households", path)
    assert response.status_code == 200, response.text
