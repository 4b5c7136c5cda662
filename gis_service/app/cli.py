"""The ``gridgis`` command line: db, demo, serve (and the packages' own commands).

Every command prints a readable summary by default and JSON with ``--json``, and
exits non-zero with a one-line reason on failure.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Annotated, Any

import typer

from gis_service.core.cli import (
    JsonOpt,
    cli_errors,
    cli_session,
    database_url,
    emit,
    fail,
)
from gis_service.core.embedded import (
    NO_SCHEMA,
    EmbeddedCluster,
    resolve_database_url,
)
from gis_service.core.errors import GridGISError
from gis_service.core.settings import get_settings

app = typer.Typer(
    help="GridGIS: grid-based governance of rural townships.", no_args_is_help=True
)
db_app = typer.Typer(
    help="The database: embedded cluster and migrations.", no_args_is_help=True
)
demo_app = typer.Typer(help="The demo township.", invoke_without_command=True)
townships_app = typer.Typer(
    help="Townships: add your own before importing its layers.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(townships_app, name="townships")


# -- db ---------------------------------------------------------------------------
@db_app.command("start")
def db_start(as_json: JsonOpt = False) -> None:
    """Create (first time) and start the embedded PostgreSQL+PostGIS cluster."""
    with cli_errors():
        settings = get_settings()
        if settings.database_url:
            fail(
                "GRIDGIS_DATABASE_URL is set: GridGIS uses that server, "
                "not the embedded one"
            )
        database_url(settings, create=True)
        emit(dataclasses.asdict(EmbeddedCluster(settings.embedded).status()), as_json)


@db_app.command("stop")
def db_stop(as_json: JsonOpt = False) -> None:
    """Stop the embedded cluster (its data stays)."""
    with cli_errors():
        emit(
            dataclasses.asdict(EmbeddedCluster(get_settings().embedded).stop()), as_json
        )


def _schema_state(url: str) -> str:
    """The migration a reachable database is at, without creating anything."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from gis_service.core.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT to_regclass('alembic_version')")).scalar():
                rev = conn.execute(text("SELECT version_num FROM alembic_version"))
                return f"migrated to {rev.scalar()}"
            return NO_SCHEMA
    except SQLAlchemyError as exc:
        return f"unreachable: {(str(exc).strip().splitlines() or ['?'])[0]}"
    finally:
        engine.dispose()


@db_app.command("status")
def db_status(as_json: JsonOpt = False) -> None:
    """Which database GridGIS uses from here, whether it answers, and its schema.

    Exits 1 when the database does not answer (scripts and monitors see it down).
    """
    with cli_errors():
        settings = get_settings()
        cluster = EmbeddedCluster(settings.embedded)
        status = dataclasses.asdict(cluster.status())
        status["configured_url"] = settings.database_url
        if settings.database_url:
            status["answering"] = _answers(settings.database_url)
            status["uses"] = "GRIDGIS_DATABASE_URL (the embedded cluster is unused)"
            status["schema"] = (
                _schema_state(settings.database_url)
                if status["answering"]
                else "not answering"
            )
        else:
            status["uses"] = f"the embedded cluster in {status['data_dir']}"
            status["schema"] = (
                _schema_state(cluster.url()) if status["answering"] else "not running"
            )
        emit(status, as_json)
    if not status["answering"]:
        raise typer.Exit(1)  # scripts and monitors see a database that is down


def _answers(url: str) -> bool:
    """Whether the configured database accepts a connection within 5 s."""
    from sqlalchemy.exc import DBAPIError

    from gis_service.core.db import make_engine

    engine = make_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect():
            return True
    except DBAPIError:
        return False
    finally:
        engine.dispose()


@db_app.command("url")
def db_url(
    gdal: Annotated[
        bool,
        typer.Option(
            "--gdal",
            help="a read-only login for QGIS/ogrinfo that sees masked views only: "
            'ogrinfo "$(gridgis db url --gdal)"',
        ),
    ] = False,
) -> None:
    """Print the database URL GridGIS uses (or, --gdal, the read-only one)."""
    settings = get_settings()
    url = resolve_database_url(settings.database_url, settings.embedded)
    if not gdal:
        typer.echo(url)
        return
    from gis_service.core.auth.gdal import reader_connection

    with cli_errors(), cli_session() as session:
        typer.echo(reader_connection(session, settings, url))


@db_app.command("distribution")
def db_distribution(as_json: JsonOpt = False) -> None:
    """Print the Citus statements that distribute this database by township."""
    from gis_service.core.distribution import citus_statements, rule_violations

    with cli_errors(), cli_session() as session:
        faults = rule_violations(session)
        if faults:
            fail("the schema breaks a distribution rule: " + "; ".join(faults))
        statements = citus_statements(session)
    emit(statements, as_json, "\n".join)


def _alembic_config(url: str) -> Any:
    from pathlib import Path

    from alembic.config import Config

    root = Path(__file__).resolve().parents[2]
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "alembic"))
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False
    return config


@db_app.command("upgrade")
def db_upgrade(revision: str = "head", as_json: JsonOpt = False) -> None:
    """Apply the migrations (CREATE EXTENSION postgis and every table)."""
    from alembic import command

    with cli_errors():
        command.upgrade(_alembic_config(database_url(create=True)), revision)
        emit({"upgraded_to": revision}, as_json)


@db_app.command("downgrade")
def db_downgrade(revision: str, as_json: JsonOpt = False) -> None:
    """Revert the migrations down to REVISION ('base' drops every table)."""
    from alembic import command

    with cli_errors():
        command.downgrade(_alembic_config(database_url()), revision)
        emit({"downgraded_to": revision}, as_json)


# -- townships --------------------------------------------------------------------
@townships_app.command("add")
def townships_add(
    code: Annotated[str, typer.Argument(help="12-digit statistical division code")],
    name: Annotated[str, typer.Option(help="the township's name, e.g. 抓喜秀龙镇")],
    county: Annotated[
        str | None, typer.Option(help="its county (kept when omitted, '' clears)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a township (or rename it); its layers are imported with -t CODE."""
    from gis_service.core.townships import save_township

    with cli_errors(), cli_session() as session:
        row = save_township(session, code=code, name=name, county=county)
    emit(
        row,
        as_json,
        lambda r: (
            f"township {r['code']} {r['name']} "
            + ("created" if r["created"] else "updated")
        ),
    )


@townships_app.command("use")
def townships_use(
    code: Annotated[str, typer.Argument(help="12-digit township code")],
) -> None:
    """Make CODE the default township of every command (-t may then be left out)."""
    from gis_service.core.cli import _known_township, township_file

    _known_township(code)
    path = township_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(code + "\n", encoding="utf-8")
    typer.echo(f"默认乡镇: {code} (saved in {path}; GRIDGIS_TOWNSHIP overrides it)")


@townships_app.command("list")
def townships_list(as_json: JsonOpt = False) -> None:
    """Every township with its household count."""
    from gis_service.core.townships import list_townships

    with cli_errors(), cli_session() as session:
        rows = list_townships(session)
    emit(
        rows,
        as_json,
        lambda rs: (
            "\n".join(
                f"{r['code']}  {r['name']}  ({r['households']} households)" for r in rs
            )
            or "no township yet: gridgis townships add CODE --name NAME"
        ),
    )


# -- demo and serve -----------------------------------------------------------------
HouseholdsOpt = Annotated[int, typer.Option(min=10, help="households to generate")]


@demo_app.callback()
def demo(
    ctx: typer.Context,
    households: HouseholdsOpt = 512,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Start the database, migrate, load the demo township and serve it."""
    if ctx.invoked_subcommand is not None:
        return
    with cli_errors():
        url = database_url(create=True)
        from alembic import command

        command.upgrade(_alembic_config(url), "head")
        counts = _load_demo(households)
        typer.echo(
            "demo township loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items())
        )
        _print_demo_users()
    typer.echo(
        f"GridGIS is serving at http://{host}:{port}/  (API docs: http://{host}:{port}/docs)"
    )
    _serve(host, port)


def _print_demo_users() -> None:
    """One user per role with a fresh password (shown here only, never stored)."""
    from gis_service.app.demo.data import DEMO_TOWNSHIP
    from gis_service.app.demo.users import demo_users

    with cli_session() as session:
        users = demo_users(session, township=DEMO_TOWNSHIP)
    typer.echo("sign in (POST /auth/token, or /docs → Authorize) as:")
    for name, role, password in users:
        typer.echo(f"  {name:<12} {role:<12} password {password}")


def _load_demo(households: int) -> dict[str, int]:
    from gis_service.app.demo.load import load_demo

    with cli_session() as session:
        return load_demo(session, households=households)


@demo_app.command("load")
def demo_load(households: HouseholdsOpt = 512, as_json: JsonOpt = False) -> None:
    """(Re)load the seeded demo township; loading twice never duplicates it."""
    with cli_errors():
        emit(_load_demo(households), as_json)


def _serve(host: str, port: int, workers: int = 1) -> None:
    """Serve with uvicorn; several workers each build their own app and engine.

    Nothing two workers could disagree on is kept in process memory (sessions,
    rate limits and idempotency keys live in PostgreSQL), so any worker may
    answer any request.
    """
    import uvicorn

    from gis_service.app.main import startup_check
    from gis_service.core.db import make_engine
    from gis_service.core.schema import SchemaMismatch

    settings = get_settings()
    engine = make_engine(resolve_database_url(settings.database_url, settings.embedded))
    try:
        startup_check(engine, settings)  # one line, not a traceback, on a bad schema
    except SchemaMismatch as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    uvicorn.run(
        "gis_service.app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


@app.command("serve")
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="worker processes (one per core)")
    ] = 1,
) -> None:
    """Run the HTTP service (uvicorn), in one or several worker processes."""
    with cli_errors(), cli_session():  # started and migrated before any request
        pass
    _serve(host, port, workers)


def _register_packages() -> None:
    """Let each package add its own commands (import, assign, visits, map ...)."""
    from gis_service.app import jobs_cli
    from gis_service.core.auth import cli as auth_cli
    from grids.assignment import cli as grids_cli
    from grids.routing import cli as routing_cli
    from grids.visits import cli as visits_cli
    from layers.disputes import cli as disputes_cli
    from layers.hazards import cli as hazards_cli
    from layers.hazards.rechecks import install as install_rechecks
    from layers.io import cli as layers_cli
    from maps import cli as maps_cli

    install_rechecks()  # settings are read when a route is planned
    for module in (
        auth_cli,
        jobs_cli,
        layers_cli,
        grids_cli,
        visits_cli,
        routing_cli,
        disputes_cli,
        hazards_cli,
        maps_cli,
    ):
        module.register(app)


_register_packages()


def main() -> None:  # pragma: no cover - console entry point
    """Entry point that never lets a traceback reach a township user."""
    try:
        app()
    except GridGISError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        sys.exit(1)
