"""What every ``gridgis`` command shares: output, the one-line failure, a session.

Domain packages build their commands on these; the typer root in
``gis_service.app.cli`` registers them (so no CLI module imports the root).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.db import make_engine
from gis_service.core.embedded import NO_SCHEMA, EmbeddedCluster, NoSchema
from gis_service.core.errors import GridGISError
from gis_service.core.settings import Settings, get_settings
from gis_service.core.townships import check_township_code, require_township

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]


def fail(reason: str) -> None:
    """Print a one-line reason to stderr and exit 1."""
    typer.echo(f"error: {reason}", err=True)
    raise typer.Exit(1)


def emit(data: Any, as_json: bool, render: Callable[[Any], str] | None = None) -> None:
    """Print ``data`` as JSON or as a readable summary."""
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif render is not None:
        typer.echo(render(data))
    elif isinstance(data, dict):
        width = max((len(str(k)) for k in data), default=0)
        typer.echo("\n".join(f"{k:<{width}}  {v}" for k, v in data.items()))
    else:
        typer.echo(str(data))


def dump(data: Any) -> Any:
    """Plain JSON-able data from schemas (and lists of them)."""
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, list):
        return [dump(d) for d in data]
    return data


def validated(model: type[BaseModel], **values: Any) -> Any:
    """Build a request schema, turning validation errors into a one-line failure."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"{'.'.join(str(p) for p in first['loc']) or 'input'}: {first['msg']}")


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn domain errors into the one-line failure contract."""
    try:
        yield
    except GridGISError as exc:
        fail(exc.detail)


def database_url(settings: Settings | None = None, *, create: bool = False) -> str:
    """The configured URL, or the embedded cluster's (started if stopped).

    Only commands that set a database up (``db start``, ``db upgrade``, ``demo``)
    pass ``create``: any other command meeting no cluster says so in one line
    instead of running initdb as a side effect.
    """
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    cluster = EmbeddedCluster(settings.embedded)
    if not cluster.initialised and not create:
        raise NoSchema(f"{NO_SCHEMA} (no database yet at {cluster.root})")
    if not cluster.running():
        cluster.start()
    return cluster.url()


_HAS_SCHEMA = text(
    "SELECT to_regclass('alembic_version') IS NOT NULL "
    "AND to_regclass('townships') IS NOT NULL"
)


def require_schema(session: Session) -> None:
    """Refuse, in one line, a database the migrations have not built."""
    if not session.execute(_HAS_SCHEMA).scalar_one():
        raise NoSchema(NO_SCHEMA)


@contextmanager
def cli_session() -> Iterator[Session]:
    """A session for one CLI command, on a database that has the schema."""
    engine = make_engine(database_url())
    try:
        with Session(engine) as session:
            require_schema(session)
            session.rollback()  # the check leaves no transaction behind
            yield session
    finally:
        engine.dispose()


def _known_township(value: str) -> str:
    """Check ``--township`` once for every command: 12 digits, and it exists."""
    try:
        check_township_code(value)
    except GridGISError as exc:
        fail(exc.detail)
    with cli_errors(), cli_session() as session:
        try:
            require_township(session, township=value)
        except GridGISError as exc:
            fail(f"{exc.detail}; add it: gridgis townships add {value} --name NAME")
    return value


TownshipOpt = Annotated[
    str,
    typer.Option(
        "--township", "-t", help="12-digit township code", callback=_known_township
    ),
]
