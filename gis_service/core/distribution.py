"""How the schema distributes by township (Citus rules), read from the catalog.

Every township's work is independent, so ``township_code`` is the distribution
column: a table holding township data is distributed by it (all co-located with
``households``), a small cross-township table is a reference table (copied to
every node), and service tables (users, audit, idempotency keys, jobs) stay on
the coordinator. Citus only accepts that if every primary key, unique key and
foreign key between distributed tables includes ``township_code``;
:func:`rule_violations` checks exactly that on the live catalog, and
:func:`citus_statements` prints the statements that distribute a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

DISTRIBUTION_COLUMN = "township_code"
ANCHOR = "households"  # every distributed table is co-located with it
# Small tables every township reads: replicated to every node.
REFERENCE_TABLES = frozenset({"townships"})
# Service tables that never join township data row by row: kept on the
# coordinator (Citus local tables). Add a new one here only if that holds.
COORDINATOR_TABLES = frozenset(
    {
        "users",
        "login_attempts",
        "auth_sessions",
        "audit_log",
        "idempotency_keys",
        "procrastinate_jobs",
        "procrastinate_events",
        "procrastinate_periodic_defers",
        "procrastinate_workers",
        "jobs",
    }
)
# Owned by PostGIS and Alembic, not by GridGIS.
FOREIGN_OWNED = frozenset({"spatial_ref_sys", "alembic_version"})

_TABLES = text(
    """
    SELECT c.relname AS name,
           EXISTS (SELECT 1 FROM pg_attribute a
                   WHERE a.attrelid = c.oid AND a.attname = :col
                     AND a.attnotnull AND NOT a.attisdropped) AS keyed
    FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace
      AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    ORDER BY c.relname
    """
)
# Primary keys, unique constraints and unique indexes, with their columns.
_UNIQUE = text(
    """
    SELECT t.relname AS tab, i.relname AS name, x.indisprimary AS primary_key,
           array_agg(a.attname::text ORDER BY k.ord) AS cols
    FROM pg_index x
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_class i ON i.oid = x.indexrelid
    CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
    LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
    WHERE x.indisunique AND t.relnamespace = 'public'::regnamespace
      AND t.relkind IN ('r', 'p') AND NOT t.relispartition
    GROUP BY t.relname, i.relname, x.indisprimary
    """
)
_FOREIGN = text(
    """
    SELECT c.conname AS name, t.relname AS tab, r.relname AS ref,
           array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                 ORDER BY k.o) AS cols,
           array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
                 JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n
                 ORDER BY k.o) AS ref_cols
    FROM pg_constraint c
    JOIN pg_class t ON t.oid = c.conrelid
    JOIN pg_class r ON r.oid = c.confrelid
    WHERE c.contype = 'f' AND c.conparentid = 0
      AND t.relnamespace = 'public'::regnamespace AND NOT t.relispartition
    ORDER BY t.relname, c.conname
    """
)


@dataclass(frozen=True)
class Layout:
    """Which tables are distributed, reference or coordinator-only."""

    distributed: tuple[str, ...]
    reference: tuple[str, ...]
    coordinator: tuple[str, ...]
    unclassified: tuple[str, ...]  # no township_code and on no list: a rule broken


def layout(session: Session) -> Layout:
    """Classify every GridGIS table of the connected database."""
    rows = session.execute(_TABLES, {"col": DISTRIBUTION_COLUMN}).all()
    names = {r.name: r.keyed for r in rows if r.name not in FOREIGN_OWNED}
    reference = tuple(n for n in names if n in REFERENCE_TABLES)
    coordinator = tuple(n for n in names if n in COORDINATOR_TABLES)
    listed = REFERENCE_TABLES | COORDINATOR_TABLES
    distributed = tuple(n for n, keyed in names.items() if keyed and n not in listed)
    unclassified = tuple(
        n for n, keyed in names.items() if not keyed and n not in listed
    )
    return Layout(distributed, reference, coordinator, unclassified)


def rule_violations(session: Session) -> list[str]:
    """Every way the schema breaks the distribution rules (empty when it holds)."""
    plan = layout(session)
    distributed = set(plan.distributed)
    found = [
        f"{t}: no NOT NULL {DISTRIBUTION_COLUMN} and not a reference or coordinator "
        "table (add the column to its keys, or list it in "
        "gis_service/core/distribution.py with the reason)"
        for t in plan.unclassified
    ]
    has_pk: set[str] = set()
    for row in session.execute(_UNIQUE):
        if row.tab not in distributed:
            continue
        has_pk |= {row.tab} if row.primary_key else set()
        if DISTRIBUTION_COLUMN not in row.cols:
            kind = "primary key" if row.primary_key else "unique key"
            found.append(f"{row.tab}: {kind} {row.name} {row.cols} lacks township_code")
    found += [f"{t}: no primary key" for t in sorted(distributed - has_pk)]
    for fk in session.execute(_FOREIGN):
        found += _foreign_key_faults(fk, distributed, set(plan.reference))
    return found


def _foreign_key_faults(
    fk: Row[Any], distributed: set[str], reference: set[str]
) -> list[str]:
    """A foreign key is fine to a reference table, or township to township."""
    tab, ref, name = fk.tab, fk.ref, fk.name
    cols: Sequence[str] = fk.cols
    ref_cols: Sequence[str] = fk.ref_cols
    if tab in reference and ref in distributed:
        return [f"{tab}: {name} points from a reference table into {ref}"]
    if tab not in distributed or ref in reference or ref not in distributed:
        return []
    pairs = dict(zip(cols, ref_cols, strict=True))
    if pairs.get(DISTRIBUTION_COLUMN) != DISTRIBUTION_COLUMN:
        return [f"{tab}: {name} -> {ref} does not join on township_code"]
    return []


def citus_statements(session: Session) -> list[str]:
    """The statements that distribute this schema on a Citus coordinator, in order.

    Reference tables first, then the anchor, then every other distributed table
    co-located with it, parents before the tables whose foreign keys point at
    them (Citus needs the referenced table distributed first).
    """
    plan = layout(session)
    edges: dict[str, set[str]] = {t: set() for t in plan.distributed}
    for fk in session.execute(_FOREIGN):
        if fk.tab in edges and fk.ref in edges and fk.ref != fk.tab:
            edges[fk.tab].add(fk.ref)
    ordered: list[str] = []

    def visit(table: str) -> None:
        if table in ordered:
            return
        for parent in sorted(edges[table]):
            visit(parent)
        ordered.append(table)

    if ANCHOR in edges:
        visit(ANCHOR)
    for table in sorted(edges):
        visit(table)
    out = [f"SELECT create_reference_table('{t}');" for t in plan.reference]
    for table in ordered:
        colocate = "'default'" if table == ordered[0] else f"'{ordered[0]}'"
        out.append(
            f"SELECT create_distributed_table('{table}', '{DISTRIBUTION_COLUMN}', "
            f"colocate_with => {colocate});"
        )
    out += [
        f"SELECT citus_add_local_table_to_metadata('{t}');" for t in plan.coordinator
    ]
    return out
