"""A day's visits as townships write them: Chinese headers, GBK, mapped columns."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.factories import TOWNSHIP
from tests.grids.factories_visits import make_town

BASE = f"/townships/{TOWNSHIP}/visits/batch"
CSV = {"content-type": "text/csv"}


def test_chinese_headers_and_purposes_in_a_gbk_csv(
    session: Session, client: TestClient
) -> None:
    make_town(session)
    body = (
        "户号,网格员编号,走访时间,走访事由,备注,诉求类别,诉求内容\n"
        "H001,C1,2026-06-01 09:00,政策宣传,讲解医保,,\n"
        "H002,C1,2026-06-01 10:00,矛盾调解,,就业,想找活干\n"
    )
    response = client.post(BASE, content=body.encode("gbk"), headers=CSV)
    assert response.status_code == 201, response.text
    out = response.json()
    assert (out["inserted"], out["demands"]) == (2, 1)
    assert out["warnings"] == [
        "the visits CSV is not UTF-8; read as GB18030 (detected); pass --encoding "
        "if the text looks wrong"
    ]
    purposes = session.execute(
        text("SELECT purpose FROM visits WHERE township_code = :t ORDER BY visited_at"),
        {"t": TOWNSHIP},
    ).scalars()
    assert list(purposes) == ["policy", "mediation"]


def test_a_mapped_column_and_rows_as_the_sheet_shows_them(
    session: Session, client: TestClient
) -> None:
    make_town(session)
    body = "农户编码,日期\nH001,2026-06-01 09:00\nH002,not a time\n"
    response = client.post(BASE, content=body.encode(), headers=CSV)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"feature": None, "field": "household",
         "reason": "the file has no household column; pass --map household=COLUMN"}
    ]  # fmt: skip
    response = client.post(
        BASE, content=body.encode(), headers=CSV,
        params={"field_map": "household=农户编码"},
    )  # fmt: skip
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert (error["row"], error["field"]) == (3, "visited_at")
