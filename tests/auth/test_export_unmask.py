"""Exports honour ``unmask=true`` as the JSON lists do: whole ID numbers and phones
for the rows in the caller's scope, 403 for a viewer, and an audit entry naming
the rows exported (who, what, which rows, from where)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

import geopandas as gpd

from tests.auth.factories_scope import ID_NUMBER, IN_SCOPE, PHONE, World
from tests.factories import TOWNSHIP

A = f"/townships/{TOWNSHIP}"
MASKED_PHONE = "138****5678"


def unmasked_entries(session: Session) -> list[dict]:
    return [
        {"user": r.username, "path": r.path, "address": r.address, **r.rows}
        for r in session.execute(
            text(
                "SELECT username, path, address, rows FROM audit_log "
                "WHERE action = 'unmask' ORDER BY id"
            )
        )
    ]


def xlsx_rows(content: bytes) -> list[dict[str, object]]:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.mark.parametrize("user", ["admin_a", "leader_a", "cadre_c1"])
def test_household_export_unmasked_in_scope_and_audited(
    anon: TestClient, world: World, session: Session, user: str
) -> None:
    auth = world.headers[user]
    url = f"{A}/layers/households/export?format=geojson"
    masked = json.loads(anon.get(url, headers=auth).content)["features"]
    assert {f["properties"]["phone"] for f in masked} == {MASKED_PHONE}
    assert unmasked_entries(session) == []
    whole = anon.get(url + "&unmask=true", headers=auth)
    assert whole.status_code == 200, whole.text
    props = [f["properties"] for f in json.loads(whole.content)["features"]]
    assert {p["code"] for p in props} == IN_SCOPE[user]
    assert {p["phone"] for p in props} == {PHONE}
    assert {p["id_number"] for p in props} == {ID_NUMBER}
    [entry] = unmasked_entries(session)
    assert entry["user"] == user and entry["address"] == "testclient"
    assert entry["path"] == f"{A}/layers/households/export"
    assert entry["layer"] == "households" and entry["export"] == "geojson"
    assert set(entry["codes"]) == IN_SCOPE[user]
    assert entry["count"] == len(IN_SCOPE[user])


def test_ledger_xlsx_unmasked_for_a_cadre_and_audited(
    anon: TestClient, world: World, session: Session
) -> None:
    auth = world.headers["cadre_c1"]
    url = f"{A}/layers/coverage/export?format=xlsx"
    masked = xlsx_rows(anon.get(url, headers=auth).content)
    assert {r["联系电话"] for r in masked} == {MASKED_PHONE}
    whole = anon.get(url + "&unmask=true", headers=auth)
    assert whole.status_code == 200, whole.text
    rows = xlsx_rows(whole.content)
    assert {r["户号"] for r in rows} == IN_SCOPE["cadre_c1"]
    assert {r["联系电话"] for r in rows} == {PHONE}
    [entry] = unmasked_entries(session)
    assert entry["user"] == "cadre_c1" and entry["ledger"] == "coverage"
    assert entry["export"] == "xlsx" and set(entry["codes"]) == IN_SCOPE["cadre_c1"]
    # a ledger without personal data unmasks nothing, so nothing is recorded
    visits = anon.get(f"{A}/layers/visits/export?format=xlsx&unmask=true", headers=auth)
    assert visits.status_code == 200
    assert len(unmasked_entries(session)) == 1


def test_leader_gpkg_export_unmasked(
    anon: TestClient, world: World, session: Session, tmp_path: Path
) -> None:
    url = f"{A}/layers/households/export?format=gpkg&unmask=true"
    response = anon.get(url, headers=world.headers["leader_a"])
    assert response.status_code == 200, response.text
    (tmp_path / "h.gpkg").write_bytes(response.content)
    frame = gpd.read_file(tmp_path / "h.gpkg")
    assert set(frame["code"]) == IN_SCOPE["leader_a"]
    assert set(frame["phone"]) == {PHONE}
    assert unmasked_entries(session)[0]["export"] == "gpkg"


@pytest.mark.parametrize(
    "path",
    [
        "/layers/households/export?format=geojson",
        "/layers/households/export?format=gpkg",
        "/layers/coverage/export?format=xlsx",
        "/layers/uncovered/export?format=xlsx",
    ],
)
def test_viewer_may_not_unmask_an_export(
    anon: TestClient, world: World, session: Session, path: str
) -> None:
    response = anon.get(f"{A}{path}&unmask=true", headers=world.headers["viewer_a"])
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert unmasked_entries(session) == []


def test_cli_export_unmask_is_audited_as_the_cli(
    world: World, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI (the owner's credentials, every row) unmasks only when asked, and
    writes the same audit entry with the account that ran it."""
    import getpass
    from contextlib import nullcontext

    from typer.testing import CliRunner

    from gis_service.app.cli import app

    for module in ("gis_service.core.cli", "layers.io.cli"):  # the test's session
        monkeypatch.setattr(f"{module}.cli_session", lambda: nullcontext(session))
    out = tmp_path / "h.geojson"
    command = ["export", "households", "-t", TOWNSHIP, "-o", str(out)]
    runner = CliRunner()
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    masked = [f["properties"] for f in json.loads(out.read_bytes())["features"]]
    assert {p["phone"] for p in masked} == {MASKED_PHONE}
    assert unmasked_entries(session) == []
    result = runner.invoke(app, [*command, "--unmask"])
    assert result.exit_code == 0, result.output
    whole = [f["properties"] for f in json.loads(out.read_bytes())["features"]]
    assert {p["phone"] for p in whole} == {PHONE}
    assert {p["code"] for p in whole} == IN_SCOPE["admin_a"]
    [entry] = unmasked_entries(session)
    assert entry["user"] == f"cli:{getpass.getuser()}"
    assert entry["path"] == "layers export households --unmask"
    assert entry["export"] == "geojson" and set(entry["codes"]) == IN_SCOPE["admin_a"]
    role = session.execute(text("SELECT role, method FROM audit_log")).one()
    assert tuple(role) == ("cli", "CLI")
