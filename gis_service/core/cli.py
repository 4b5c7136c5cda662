"""What every ``gridgis`` command shares: output, the one-line failure, a session.

Domain packages build their commands on these; the typer root in
``gis_service.app.cli`` registers them (so no CLI module imports the root).
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from pydantic import BaseModel, ValidationError
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.db import make_engine
from gis_service.core.embedded import NO_SCHEMA, EmbeddedCluster, NoSchema
from gis_service.core.errors import GridGISError
from gis_service.core.settings import Settings, get_settings
from gis_service.core.townships import check_township_code, require_township

try:  # newer typer vendors click as typer._click; its context holds the params
    from typer._click.exceptions import ClickException as _VendoredClickError
    from typer._click.globals import get_current_context as _current_context
except ImportError:  # pragma: no cover - typer using click itself
    from click import ClickException as _VendoredClickError  # type: ignore[assignment]
    from click import get_current_context as _current_context  # type: ignore[no-redef]

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]


def render_table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], *, right: Sequence[int] = ()
) -> str:
    """Rows as a plain table aligned by display width (a Chinese character is two)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for j, name in enumerate(headers):
        table.add_column(
            Text(name), no_wrap=True, justify="right" if j in right else "left"
        )
    for row in rows:
        table.add_row(*(Text("" if c is None else str(c)) for c in row))
    console = Console(
        width=10_000, no_color=True, highlight=False, markup=False, emoji=False,
        file=io.StringIO(), legacy_windows=False, color_system=None,
    )  # fmt: skip
    with console.capture() as captured:
        console.print(table)
    return "\n".join(line.rstrip() for line in captured.get().splitlines()).strip("\n")


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
    """Turn errors into the one-line failure (``--json``: the API's problem object).

    An unexpected error is a bug: its traceback goes to a log file whose path
    is printed, never onto the terminal.
    """
    try:
        yield
    except GridGISError as exc:
        if _json_requested():
            typer.echo(json.dumps(exc.to_problem(), ensure_ascii=False, indent=2))
            raise typer.Exit(1) from None
        fail(exc.detail)
    except (typer.Exit, typer.Abort, click.ClickException, _VendoredClickError):
        raise
    except Exception as exc:
        path = _log_unexpected(exc)
        detail = f"unexpected {type(exc).__name__}; the details are in {path}"
        if _json_requested():
            problem = {"type": "about:blank", "title": "Internal error",
                       "status": 500, "detail": detail, "log": str(path)}  # fmt: skip
            typer.echo(json.dumps(problem, ensure_ascii=False, indent=2))
            raise typer.Exit(1) from None
        fail(detail)


def _json_requested() -> bool:
    """Whether the running command was given ``--json``."""
    # typer vendors click (typer._click); its current context has the params
    context = _current_context(silent=True)
    return bool(context is not None and context.params.get("as_json"))


def log_dir() -> Path:
    """Where the CLI logs unexpected errors (``GRIDGIS_LOG_DIR`` or ~/.gridgis)."""
    return Path(os.environ.get("GRIDGIS_LOG_DIR") or Path.home() / ".gridgis" / "logs")


def _log_unexpected(exc: BaseException) -> Path:
    """Append the traceback to the CLI's error log; return the log's path."""
    folder = log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "cli-errors.log"
        with path.open("a", encoding="utf-8") as out:
            out.write(f"--- {datetime.now(UTC).isoformat()} {' '.join(sys.argv)}\n")
            out.write("".join(traceback.format_exception(exc)))
    except OSError:  # an unwritable home: the temporary directory will do
        path = Path(tempfile.gettempdir()) / "gridgis-cli-errors.log"
        with path.open("a", encoding="utf-8") as out:
            out.write("".join(traceback.format_exception(exc)))
    return path


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


def township_file() -> Path:
    """Where ``gridgis townships use CODE`` keeps the default township."""
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "gridgis" / "township"


def default_township() -> str:
    """``GRIDGIS_TOWNSHIP``, else the one ``gridgis townships use`` chose, else ''."""
    value = os.environ.get("GRIDGIS_TOWNSHIP", "").strip()
    if value:
        return value
    try:
        return township_file().read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _known_township(value: str) -> str:
    """Check ``--township`` once for every command: 12 digits, and it exists."""
    if not value:
        fail(
            "no township: pass -t CODE, set GRIDGIS_TOWNSHIP, or choose one with "
            "gridgis townships use CODE"
        )
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
        "--township",
        "-t",
        help="12-digit township code (default: GRIDGIS_TOWNSHIP, or the one "
        "chosen with gridgis townships use CODE)",
        callback=_known_township,
        default_factory=default_township,
        show_default=False,
    ),
]
