"""ID numbers (GB 11643): check digit, birth date, legacy 15 digits, x -> X;
flagged per row by default, rejected when the setting says so; always masked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.idnumbers import check_digit, normalise_id_numbers
from tests.factories import TOWNSHIP, make_township
from tests.layers.factories_layers import count, upload

GOOD = "11010519491231002X"  # the standard's own example
LEGACY = "110105491231002"  # the same person's first-generation number


@pytest.fixture(autouse=True)
def township(session: Session) -> str:
    return make_township(session)


def test_check_digit_birth_date_legacy_and_lowercase_x() -> None:
    assert check_digit(GOOD[:17]) == "X"
    values = np.array(
        [GOOD.lower(), LEGACY, "110105194912310021", "110105194902300020",
         "990105194912310029", "12345", None], dtype=object,
    )  # fmt: skip
    out, reasons = normalise_id_numbers(values)
    assert list(out[:2]) == [GOOD, GOOD]
    assert list(reasons) == [
        None,
        None,
        "ID number 110105********0021: wrong check digit",
        "ID number 110105********0020: the birth date in it is not a real date",
        "ID number 990105********0029: the region code is not a province's",
        "ID number *****: must be 18 digits (the last may be X) or a 15-digit "
        "legacy number",
        None,
    ]
    assert "12345" not in str(reasons[5])


def _sheet(tmp: Path) -> Path:
    frame = pd.DataFrame(
        {"户号": ["H1", "H2", "H3"], "户主": ["甲", "乙", "丙"],
         "身份证号码": [GOOD.lower(), LEGACY, "110105194912310021"],
         "经度": [102.5, 102.6, 102.7], "纬度": [37.1, 37.1, 37.1]}
    )  # fmt: skip
    frame.to_csv(tmp / "h.csv", index=False)
    return tmp / "h.csv"


def test_invalid_numbers_are_flagged_per_row_by_default(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    response = upload(client, "households", _sheet(tmp_path))
    assert response.status_code == 200, response.text
    assert (
        "row 4 (H3): ID number 110105********0021: wrong check digit"
        in (response.json()["warnings"])
    )
    assert "110105194912310021" not in response.text
    stored = session.execute(
        text("SELECT id_number FROM households WHERE township_code = :t "
             "ORDER BY code"), {"t": TOWNSHIP},
    ).scalars()  # fmt: skip
    assert list(stored) == [GOOD, GOOD, "110105194912310021"]


def test_invalid_numbers_are_rejected_when_set(
    client: TestClient,
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRIDGIS_IMPORTS__ID_NUMBERS", "reject")
    response = upload(client, "households", _sheet(tmp_path))
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"feature": 2, "row": 4, "code": "H3", "field": "id_number",
         "reason": "ID number 110105********0021: wrong check digit"}
    ]  # fmt: skip
    assert "110105194912310021" not in response.text
    assert count(session, "households") == 0
