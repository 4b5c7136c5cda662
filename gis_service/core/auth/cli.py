"""``gridgis users``: add, list, disable, enable, reset, unlock (run on the server).

The CLI talks to the database as its owner, so whoever runs it on the server is
trusted as an installation admin; passwords come from a prompt or stdin, never
from the command line (it would sit in the shell history and in ``ps``).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from gis_service.core.auth import users
from gis_service.core.cli import JsonOpt, cli_errors, cli_session, emit

users_app = typer.Typer(help="Users who sign in, their roles and scope.")


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return value


def _line(u: dict[str, Any]) -> str:
    scope = u["grid"] or u["cadre"] or u["township"] or u["county"] or "全部 all"
    flags = " disabled" if u["disabled"] else ""
    flags += " LOCKED" if u["locked"] else ""
    return f"{u['username']:<20} {u['role']:<12} {scope}{flags}"


StdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from stdin")
]
NameArg = Annotated[str, typer.Argument(help="the user name")]


@users_app.command("add")
def users_add(
    name: NameArg,
    role: Annotated[str, typer.Option(help="admin | grid_leader | cadre | viewer")],
    township: Annotated[str | None, typer.Option(help="township code")] = None,
    county: Annotated[
        str | None, typer.Option(help="county: all its townships")
    ] = None,
    grid: Annotated[str | None, typer.Option(help="grid code (grid_leader)")] = None,
    cadre: Annotated[str | None, typer.Option(help="cadre code (cadre)")] = None,
    password_stdin: StdinOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a user; an admin with neither township nor county sees every one."""
    with cli_errors():
        password = _password(password_stdin)
        with cli_session() as session:
            row = users.add_user(
                session,
                username=name,
                password=password,
                role=role,
                township=township,
                county=county,
                grid=grid,
                cadre=cadre,
            )
    emit(row, as_json, lambda u: "created: " + _line(u))


@users_app.command("list")
def users_list(as_json: JsonOpt = False) -> None:
    """Every user with role, scope and whether disabled or locked."""
    with cli_errors(), cli_session() as session:
        rows = users.list_users(session)
    emit(rows, as_json, lambda rs: "\n".join(map(_line, rs)) or "no user yet")


def _toggle(name: str, disabled: bool, as_json: bool) -> None:
    with cli_errors(), cli_session() as session:
        row = users.set_disabled(session, username=name, disabled=disabled)
    emit(row, as_json, _line)


@users_app.command("disable")
def users_disable(name: NameArg, as_json: JsonOpt = False) -> None:
    """Disable a user: their tokens and sessions stop working at once."""
    _toggle(name, True, as_json)


@users_app.command("enable")
def users_enable(name: NameArg, as_json: JsonOpt = False) -> None:
    """Enable a disabled user again."""
    _toggle(name, False, as_json)


@users_app.command("reset")
def users_reset(
    name: NameArg, password_stdin: StdinOpt = False, as_json: JsonOpt = False
) -> None:
    """Set a new password (also unlocks, and ends every earlier token)."""
    with cli_errors():
        password = _password(password_stdin)
        with cli_session() as session:
            row = users.reset_password(session, username=name, password=password)
    emit(row, as_json, _line)


@users_app.command("unlock")
def users_unlock(name: NameArg, as_json: JsonOpt = False) -> None:
    """Lift a lock-out after too many failed sign-ins."""
    with cli_errors(), cli_session() as session:
        row = users.unlock(session, username=name)
    emit(row, as_json, _line)


def audit(
    township: Annotated[
        str | None, typer.Option("--township", "-t", help="one township's entries")
    ] = None,
    user: Annotated[str | None, typer.Option(help="one user's entries")] = None,
    action: Annotated[str | None, typer.Option(help="unmask | write")] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=10_000, help="at most this many, newest first")
    ] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The audit log, newest first: unmasked reads and writes, who and from where."""
    from gis_service.core.auth.audit import list_entries

    with cli_errors(), cli_session() as session:
        rows = list_entries(
            session, township=township, user=user, action=action, limit=limit
        )
    emit(
        rows,
        as_json,
        lambda rs: (
            "\n".join(
                f"{r['at'][:19]}  {r['user']:<16} {r['action']:<6} {r['method']:<6} "
                f"{r['path']}  {r['address'] or ''}"
                for r in rs
            )
            or "no entries"
        ),
    )


def register(app: typer.Typer) -> None:
    """Add ``gridgis users`` and ``gridgis audit`` to the root command."""
    app.add_typer(users_app, name="users", no_args_is_help=True)
    app.command("audit")(audit)
