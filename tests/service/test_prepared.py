"""Prepared statements: typed parameters, kept across transactions, one per text."""

from __future__ import annotations

from sqlalchemy import Double, Engine, Integer, bindparam, column, func, select, text

from gis_service.core.prepared import execute as execute_prepared
from gis_service.core.prepared import prepare

# a '%' in the text, a repeated name, an overloaded function (ST_Transform's
# integer SRID, not its text one) and an IN list
_STATEMENT = select(
    text("'50%' LIKE '5%'"),
    bindparam("x", 0.0, Double) + bindparam("x", 0.0, Double),
    func.ST_SRID(func.ST_Transform(func.ST_SetSRID(func.ST_MakePoint(100, 30), 4326),
                                   3857)),
    column("v").in_([1, 2, 3]),
).select_from(text("(VALUES (2)) AS t(v)"))  # fmt: skip


def test_prepared_once_per_connection_and_kept_after_rollback(engine: Engine) -> None:
    prepared = prepare(_STATEMENT, engine.dialect)
    assert prepared.prepare.startswith(f"PREPARE {prepared.name} (DOUBLE PRECISION")
    with engine.connect() as conn:
        first = execute_prepared(conn, prepared, {"x": 1.5}).one()
        assert tuple(first) == (True, 3.0, 3857, True)
        conn.rollback()  # PREPARE is not transactional: the statement stays
        again = execute_prepared(conn, prepared, {"x": 2.0}).one()
        assert tuple(again)[1] == 4.0
        held = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_prepared_statements WHERE name = %(n)s",
            {"n": prepared.name},
        ).scalar()
        assert held == 1


def test_untyped_text_parameter_is_inferred(engine: Engine) -> None:
    statement = text("SELECT CAST(:n AS integer) + 1, :m").bindparams(
        bindparam("m", type_=Integer)
    )
    prepared = prepare(statement, engine.dialect)
    assert "(unknown, INTEGER)" in prepared.prepare
    with engine.connect() as conn:
        assert tuple(execute_prepared(conn, prepared, {"n": 41, "m": 7}).one()) == (
            42,
            7,
        )
