"""Statements PREPAREd once per database connection, then EXECUTEd by name.

psycopg2 sends every statement as text, so PostgreSQL plans it on every run.
For the statements every map tile runs, the plan was most of the database's
work: a z16 tile's SELECT under row-level security planned in ~0.7 ms and ran
in ~0.08 ms, and the sign-in's user and scope lookup likewise. A prepared
statement keeps its plan for the connection's life.

Nothing about access changes. PostgreSQL checks privileges at every EXECUTE,
plans again when the role a plan was made for under row-level security is not
the current one (plancache: ``dependsOnRLS``, ``planRoleId``), and the policies
read the per-transaction ``gridgis.*`` settings when they run, not when the
plan was made. A schema change invalidates the plan (PostgreSQL plans again).

PREPARE is not transactional: a statement prepared in a transaction that rolls
back stays. The pooled DBAPI connection's ``info`` records what it holds, and is
cleared when the pool replaces the connection. Only psycopg2 (which binds on the
client) EXECUTEs with parameters; any other driver runs the statement as it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, CursorResult
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import NullType

_HELD = "gridgis_prepared"  # DBAPI connection info key: names prepared on it
# a connection holding more statements than this drops them all and starts over
# (a statement per layer is the usual count: townships are parameters)
MAX_HELD = 64


@dataclass(frozen=True)
class Prepared:
    """One statement as PREPARE and EXECUTE text, with its fixed parameters."""

    name: str
    prepare: str  # PREPARE <name> (<types>) AS <statement with $n>
    execute: str  # EXECUTE <name>(%(param)s, ...), psycopg2's pyformat
    defaults: dict[str, Any] = field(default_factory=dict)
    statement: ClauseElement | None = None  # run as it is on other drivers


def prepare(statement: ClauseElement, dialect: Dialect) -> Prepared:
    """Compile ``statement`` for PREPARE; its bound values become the defaults.

    Every bound parameter becomes a typed ``$n`` (a parameter typed by context
    alone could pick the wrong overload: ``ST_Transform(geom, $1)`` would be
    the text one); a repeated name keeps one number. The name is a hash of the
    text, so the same statement has the same name in every process.
    """
    dialect_class: Any = type(dialect)  # the same driver's, numbering $1, $2, ...
    numbered: Dialect = dialect_class(paramstyle="numeric_dollar")
    numbered.server_version_info = dialect.server_version_info
    compiled = statement.compile(
        dialect=numbered, compile_kwargs={"render_postcompile": True}
    )
    assert isinstance(compiled, SQLCompiler)  # a statement, not a DDL element
    names = list(dict.fromkeys(compiled.positiontup or ()))
    types = [_type_name(compiled.binds, name, numbered) for name in names]
    body = str(compiled)
    digest = hashlib.blake2b(body.encode(), digest_size=10).hexdigest()
    name = f"gridgis_{digest}"
    typed = f" ({', '.join(types)})" if types else ""
    arguments = ", ".join(f"%({n})s" for n in names)
    values = dict(compiled.params)
    return Prepared(
        name=name,
        prepare=f"PREPARE {name}{typed} AS {body}",
        execute=f"EXECUTE {name}({arguments})" if names else f"EXECUTE {name}",
        defaults={n: values.get(n) for n in names},
        statement=statement,
    )


def _type_name(binds: Mapping[str, Any], name: str, dialect: Dialect) -> str:
    bind = binds.get(name)
    if bind is None:  # one element of an expanded IN list: "<list's name>_<n>"
        bind = binds[name.rsplit("_", 1)[0]]
    if isinstance(bind.type, NullType):
        return "unknown"  # untyped text() parameter: PostgreSQL infers it
    return str(bind.type.compile(dialect=dialect))


def execute(
    conn: Connection, prepared: Prepared, parameters: Mapping[str, Any]
) -> CursorResult[Any]:
    """EXECUTE ``prepared`` on ``conn``, preparing it first on a new connection."""
    if conn.dialect.driver != "psycopg2":
        assert prepared.statement is not None
        result: CursorResult[Any] = conn.execute(
            prepared.statement,  # type: ignore[call-overload]
            dict(parameters),
        )
        return result
    held: set[str] = conn.connection.info.setdefault(_HELD, set())
    if prepared.name not in held:
        if len(held) >= MAX_HELD:
            conn.exec_driver_sql("DEALLOCATE ALL")
            held.clear()
        # no_parameters: the text goes as it is (a '%' in it stays a '%')
        conn.exec_driver_sql(
            prepared.prepare, execution_options={"no_parameters": True}
        )
        held.add(prepared.name)
    return conn.exec_driver_sql(prepared.execute, {**prepared.defaults, **parameters})
