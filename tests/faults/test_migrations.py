"""Migrations are all-or-nothing, and the service refuses a schema other than head."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import URL

from alembic import command
from gis_service.core.db import make_engine
from gis_service.core.schema import SchemaMismatch, code_head
from tests.conftest import ROOT, alembic_config
from tests.faults.conftest import fault_app

FAILING = """
import sqlalchemy as sa
from alembic import op

revision = "0999_fails"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.rename_table("townships", "townships_renamed")
    op.create_table("half_made", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("SELECT 1 / 0")


def downgrade():
    pass
"""


def _state(url: URL) -> tuple[str, bool, bool, bool]:
    engine = make_engine(url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT (SELECT version_num FROM alembic_version),"
                " to_regclass('townships') IS NOT NULL,"
                " to_regclass('townships_renamed') IS NOT NULL,"
                " to_regclass('half_made') IS NOT NULL"
            )
        ).one()
    engine.dispose()
    return (row[0], row[1], row[2], row[3])


def test_failing_migration_leaves_schema_as_it_was(
    scratch_url: URL, tmp_path: Path
) -> None:
    head = code_head()
    assert head is not None
    config = alembic_config(scratch_url)
    command.downgrade(config, "-1")
    before = _state(scratch_url)
    assert before[0] != head
    (tmp_path / "0999_fails.py").write_text(FAILING.format(head=head))
    config.set_main_option(
        "version_locations",
        os.pathsep.join([str(ROOT / "alembic/versions"), str(tmp_path)]),
    )
    with pytest.raises(Exception, match="division by zero"):
        command.upgrade(config, "heads")
    # neither the head migration before it nor its own first steps stayed
    assert _state(scratch_url) == before == (before[0], True, False, False)
    command.upgrade(alembic_config(scratch_url), "head")
    assert _state(scratch_url)[0] == head


def test_refuses_to_start_on_another_schema(scratch_url: URL) -> None:
    command.downgrade(alembic_config(scratch_url), "-1")
    app = fault_app(scratch_url)
    with pytest.raises(SchemaMismatch) as refused, TestClient(app):
        pass
    line = str(refused.value)
    assert "\n" not in line and "gridgis db upgrade" in line
    assert code_head() in line
    command.upgrade(alembic_config(scratch_url), "head")
    with TestClient(fault_app(scratch_url)) as client:
        assert client.get("/health").status_code == 200
