"""The schema satisfies Citus' rules for distributing by township_code."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.distribution import (
    ANCHOR,
    citus_statements,
    layout,
    rule_violations,
)


def test_every_township_table_distributes_by_township(session: Session) -> None:
    assert rule_violations(session) == []
    plan = layout(session)
    assert ANCHOR in plan.distributed
    assert {"grids", "cadres", "visits", "demands", "disputes"} <= set(plan.distributed)
    assert plan.reference == ("townships",)


@pytest.mark.parametrize(
    ("ddl", "fault"),
    [
        ("CREATE TABLE t_no_key (id int PRIMARY KEY, note text)", "no NOT NULL"),
        (
            "CREATE TABLE t_pk (township_code varchar(12) NOT NULL,"
            " id int PRIMARY KEY)",
            "primary key",
        ),
        (
            "CREATE TABLE t_uq (township_code varchar(12) NOT NULL, id int,"
            " code text UNIQUE, PRIMARY KEY (township_code, id))",
            "unique key",
        ),
        (
            "CREATE TABLE t_fk (township_code varchar(12) NOT NULL, id int,"
            " grid_id bigint, other varchar(12), PRIMARY KEY (township_code, id),"
            " FOREIGN KEY (other, grid_id) REFERENCES grids (township_code, id))",
            "does not join on township_code",
        ),
    ],
)
def test_a_table_breaking_a_rule_is_named(
    session: Session, ddl: str, fault: str
) -> None:
    session.execute(text(ddl))
    found = rule_violations(session)
    assert len(found) == 1, found
    assert fault in found[0]


def test_distribution_statements_put_parents_first(session: Session) -> None:
    statements = citus_statements(session)
    assert statements[0] == "SELECT create_reference_table('townships');"
    order = [s.split("'")[1] for s in statements if "create_distributed_table" in s]
    assert order[0] == ANCHOR
    assert len(order) == len(set(order)) == len(layout(session).distributed)
    for child, parent in [
        ("cadres", "grids"),
        ("visits", "households"),
        ("demands", "visits"),
        ("disputes", "pasture_parcels"),
        ("parcel_findings", "dispute_runs"),
    ]:
        assert order.index(parent) < order.index(child)
    assert all(
        "colocate_with => 'households'" in s
        for s in statements[2:]
        if "distributed" in s
    )
