"""Phones on warn lists and 明白卡 by role: whole for the cadre who calls, audited."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.auth import tokens
from gis_service.core.auth.users import add_user
from tests.conftest import app_settings
from tests.factories import TOWNSHIP
from tests.layers.factories_hazards import CADRE_PHONES, make_hazard_world

BASE = f"/townships/{TOWNSHIP}/hazards"
PHONE = "13712345678"  # household P100's, 100 m from HZ-P


def _headers(session: Session, name: str, role: str, **scope: Any) -> dict[str, str]:
    user = add_user(
        session, username=name, password="x" * 16, role=role, township=TOWNSHIP,
        **scope,
    )  # fmt: skip
    token, _ = tokens.issue(
        app_settings("postgresql://unused"), user_id=user["id"], version=0,
        kind="access",
    )  # fmt: skip
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def anon(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def users(session: Session) -> dict[str, dict[str, str]]:
    make_hazard_world(session)
    return {
        "cadre": _headers(session, "c1", "cadre", cadre="C1"),
        "viewer": _headers(session, "v", "viewer"),
        "admin": _headers(session, "a", "admin"),
    }


def _audited(session: Session, username: str) -> list[str]:
    rows = session.execute(
        text(
            "SELECT rows FROM audit_log WHERE action = 'unmask' AND username = :u"
            " ORDER BY id"
        ),
        {"u": username},
    ).scalars()
    return [code for r in rows for code in r["codes"]]


def test_the_cadre_sees_their_households_phones_whole_and_it_is_audited(
    anon: TestClient, session: Session, users: dict[str, dict[str, str]]
) -> None:
    masked = anon.get(f"{BASE}/HZ-P/warn", headers=users["cadre"])
    assert masked.status_code == 200, masked.text
    assert PHONE not in masked.text and _audited(session, "c1") == []
    whole = anon.get(f"{BASE}/HZ-P/warn?unmask=true", headers=users["cadre"]).json()
    first = whole["items"][0]
    assert first["household"] == "P100" and first["phone"] == PHONE
    assert first["cadre_phone"] == CADRE_PHONES["C1"]
    assert "P100" in _audited(session, "c1")
    card = anon.get(f"{BASE}/HZ-P/cards?unmask=true", headers=users["cadre"])
    assert card.status_code == 200 and CADRE_PHONES["C1"] in card.text
    sheet = anon.get(f"{BASE}/HZ-P/warn.xlsx?unmask=true", headers=users["cadre"])
    assert sheet.status_code == 200
    assert _audited(session, "c1").count("P100") == 3


def test_a_viewer_may_not_unmask_and_default_answers_stay_masked(
    anon: TestClient, users: dict[str, dict[str, str]]
) -> None:
    refused = anon.get(f"{BASE}/HZ-P/warn?unmask=true", headers=users["viewer"])
    assert refused.status_code == 403
    admin = anon.get(f"{BASE}/warn", headers=users["admin"])
    assert admin.status_code == 200 and PHONE not in admin.text
