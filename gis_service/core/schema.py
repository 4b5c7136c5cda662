"""The schema version the code needs versus the one the database has.

Serving on a schema older (or newer) than the code's migrations fails in odd
places later; refusing at start-up with the fixing command is kinder.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"
FIX_COMMAND = "gridgis db upgrade"


class SchemaMismatch(RuntimeError):
    """The database's alembic revision is not the code's head."""


def code_head() -> str | None:
    """The alembic head revision of this checkout (None if alembic/ is absent)."""
    if not ALEMBIC_DIR.is_dir():
        return None
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(ALEMBIC_DIR)).get_current_head()


def database_revision(engine: Engine) -> str | None:
    """The revision stamped in ``alembic_version`` (None: never migrated)."""
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar()
        if exists is None:
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def check_schema(engine: Engine) -> None:
    """Raise ``SchemaMismatch`` (one line: versions and the fix) unless at head."""
    head = code_head()
    if head is None:
        return
    found = database_revision(engine)
    if found != head:
        raise SchemaMismatch(
            f"database schema is at {found or 'no version (empty database)'} but this "
            f"GridGIS needs {head}; run `{FIX_COMMAND}` and start again"
        )
