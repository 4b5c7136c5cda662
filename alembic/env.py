"""Alembic environment: GridGIS settings pick the database; GeoAlchemy2 helpers
keep PostGIS's own tables out of autogenerate and render geometry columns."""

from __future__ import annotations

import re
from logging.config import fileConfig
from typing import Any

from sqlalchemy import pool

from geoalchemy2 import alembic_helpers

from alembic import context
from gis_service.app.all_models import metadata
from gis_service.core.db import make_engine
from gis_service.core.embedded import resolve_database_url
from gis_service.core.settings import get_settings

config = context.config
if config.config_file_name is not None and config.attributes.get(
    "configure_logger", True
):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    explicit = config.attributes.get("url") or context.get_x_argument(
        as_dictionary=True
    ).get("url")
    if explicit:
        return str(explicit)
    settings = get_settings()
    return resolve_database_url(settings.database_url, settings.embedded)


# Per-township partitions (household_assignments_<code>, households_<code> and
# households_default) are made at run time or by migration 0070; the model is
# their partitioned parent.
_PARTITION = re.compile(r"^(household_assignments|households)_([0-9]{12}|default)$")


def include_object(obj: Any, name: str | None, type_: str, *args: Any) -> bool:
    """GeoAlchemy2's filter, minus the run-time partitions (and their parts)."""
    table = getattr(obj, "table", obj) if type_ != "table" else obj
    table_name = name if type_ == "table" else getattr(table, "name", None)
    if table_name is not None and _PARTITION.match(str(table_name)):
        return False
    # A foreign key to a partitioned table has a hidden copy per partition.
    if type_ == "foreign_key_constraint" and _PARTITION.match(obj.referred_table.name):
        return False
    return bool(alembic_helpers.include_object(obj, name, type_, *args))


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=metadata,
        literal_binds=True,
        include_object=include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = make_engine(_url(), poolclass=pool.NullPool)
        with engine.connect() as conn:
            _run(conn)
        engine.dispose()
    else:
        _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        include_object=include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
        # One transaction around every pending migration: a failure half-way
        # leaves the schema (and alembic_version) as it was before the command.
        transaction_per_migration=False,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
