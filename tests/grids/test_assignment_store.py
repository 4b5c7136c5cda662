"""household_assignments: partition swap, upsert, pins, cascade, view, townships."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alembic import command
from gis_service.core.db import make_engine
from gis_service.core.errors import InvalidInput
from grids.assignment.service import assign_households
from grids.assignment.store import partition_name, replace_partition
from tests.conftest import alembic_config, create_database, drop_database
from tests.factories import (
    OTHER_TOWNSHIP,
    TOWNSHIP,
    make_cadre,
    make_grid,
    make_households,
    make_township,
)
from tests.grids.factories_assign import assignments, pin, rect

_OID = text("SELECT to_regclass(:name)::oid")
_ROWS = text(
    "SELECT h.code, a.grid_id, a.cadre_id, a.pinned, a.reason, a.assigned_at "
    "FROM household_assignments a JOIN households h "
    "ON h.township_code = a.township_code AND h.id = a.household_id "
    "WHERE a.township_code = :t ORDER BY h.code"
)


def _backdate(session: Session) -> None:
    """Stored times before this test's transaction (whose now() never moves)."""
    session.execute(
        text(
            "UPDATE household_assignments SET assigned_at = '2020-01-01 00:00+00' "
            "WHERE township_code = :t"
        ),
        {"t": TOWNSHIP},
    )


def _oid(session: Session, township: str = TOWNSHIP) -> int | None:
    """The partition's table oid: it changes exactly when the partition is rebuilt."""
    return session.execute(_OID, {"name": partition_name(township)}).scalar()


def _town(session: Session, township: str = TOWNSHIP, *, capacity: int = 2) -> dict:
    """G1 with cadre C1 (capacity 2), G2 without a cadre; 4 households + 1 outside."""
    make_township(session, township)
    g1 = make_grid(session, "G1", rect(102.50, 37.10, 102.51, 37.11), township=township)
    g2 = make_grid(session, "G2", rect(102.51, 37.10, 102.52, 37.11), township=township)
    c1 = make_cadre(
        session,
        "C1",
        grid="G1",
        township=township,
        capacity=capacity,
        base=(102.505, 37.105),
    )
    ids = make_households(
        session,
        # H003 a little farther than H001 from C1: no tie for the last place.
        [(102.504, 37.105), (102.505, 37.105), (102.5061, 37.105), (102.515, 37.105),
         (102.60, 37.105)],
        township=township,
    )  # fmt: skip
    return {"g1": g1, "g2": g2, "c1": c1, "ids": ids}


def test_full_run_builds_partition_and_view_values(session: Session) -> None:
    town = _town(session)
    assert _oid(session) is None
    summary = assign_households(session, township=TOWNSHIP)
    assert _oid(session) is not None
    assert summary.rows_written == 5
    view = session.execute(
        text(
            "SELECT code, grid_id, cadre_id, cadre_pinned, assignment_reason "
            "FROM households_assigned WHERE township_code = :t ORDER BY code"
        ),
        {"t": TOWNSHIP},
    ).all()
    g1, g2, c1 = town["g1"], town["g2"], town["c1"]
    assert [tuple(r) for r in view] == [
        ("H001", g1, c1, False, None),
        ("H002", g1, c1, False, None),
        ("H003", g1, None, False, "capacity_exhausted"),
        ("H004", g2, None, False, "grid_has_no_cadre"),
        ("H005", None, None, False, "outside_every_grid"),
    ]


def test_rerun_with_many_changes_swaps_and_keeps_unchanged_times(
    session: Session,
) -> None:
    town = _town(session)
    assign_households(session, township=TOWNSHIP)
    _backdate(session)
    before = {r.code: r for r in session.execute(_ROWS, {"t": TOWNSHIP})}
    first = _oid(session)
    # Two of five households move to G2 (40% > SWAP_SHARE): the partition is rebuilt.
    session.execute(
        text(
            "UPDATE households SET geom = ST_Translate(geom, 0.01, 0) "
            "WHERE id = ANY(:ids)"
        ),
        {"ids": town["ids"][1:3]},
    )
    summary = assign_households(session, township=TOWNSHIP)
    after = {r.code: r for r in session.execute(_ROWS, {"t": TOWNSHIP})}
    assert _oid(session) != first
    assert summary.rows_written == 2  # H002 and H003 now in G2; C1 keeps H001
    assert after["H002"].grid_id == after["H003"].grid_id == town["g2"]
    assert after["H002"].assigned_at > before["H002"].assigned_at
    assert after["H001"].assigned_at == before["H001"].assigned_at
    assert after["H005"].assigned_at == before["H005"].assigned_at
    # the policy indexes were built before the swap and adopted by ATTACH (no
    # duplicates), under names a second rebuild does not collide with
    session.execute(
        text("UPDATE households SET geom = ST_Translate(geom, -0.01, 0) "
             "WHERE id = ANY(:ids)"),
        {"ids": town["ids"][1:3]},
    )  # fmt: skip
    assign_households(session, township=TOWNSHIP)
    name = partition_name(TOWNSHIP)
    indexes = session.execute(
        text("SELECT indexname FROM pg_indexes WHERE tablename = :n"), {"n": name}
    ).scalars()
    assert sorted(indexes) == [f"{name}_{i}" for i in ("cadre_id_idx", "grid_id_idx",
                                                      "pkey")]  # fmt: skip


def test_partial_run_upserts_changed_rows_only(session: Session) -> None:
    town = _town(session, capacity=4)
    assign_households(session, township=TOWNSHIP)
    _backdate(session)
    first = _oid(session)
    before = {r.code: r for r in session.execute(_ROWS, {"t": TOWNSHIP})}
    session.execute(
        text("UPDATE households SET geom = ST_Translate(geom, 0.01, 0) WHERE id = :h"),
        {"h": town["ids"][0]},
    )
    summary = assign_households(
        session, township=TOWNSHIP, household_ids=[town["ids"][0]]
    )
    after = {r.code: r for r in session.execute(_ROWS, {"t": TOWNSHIP})}
    assert _oid(session) == first  # no swap
    assert summary.rows_written == 1
    assert (after["H001"].grid_id, after["H001"].cadre_id) == (town["g2"], None)
    assert after["H001"].reason == "grid_has_no_cadre"
    assert after["H001"].assigned_at > before["H001"].assigned_at
    assert {k: v for k, v in after.items() if k != "H001"} == {
        k: v for k, v in before.items() if k != "H001"
    }


def test_pins_are_carried_over_by_the_swap(session: Session) -> None:
    town = _town(session, capacity=4)
    c2 = make_cadre(session, "C2", grid="G1", base=(102.509, 37.109))
    pin(session, town["ids"][0], c2)  # creates the partition: one upserted row
    first = _oid(session)
    summary = assign_households(session, township=TOWNSHIP)
    assert _oid(session) != first  # 4 of 5 rows changed: swapped
    assert summary.pinned_kept == 1
    row = session.execute(
        text(
            "SELECT cadre_id, cadre_pinned FROM households_assigned "
            "WHERE township_code = :t AND id = :h"
        ),
        {"t": TOWNSHIP, "h": town["ids"][0]},
    ).one()
    assert tuple(row) == (c2, True)
    assert assignments(session)["H001"] == ("G1", "C2")


def test_swap_refuses_a_bogus_grid_and_keeps_the_old_partition(
    session: Session,
) -> None:
    town = _town(session)
    assign_households(session, township=TOWNSHIP)
    first = _oid(session)
    rows = pd.DataFrame(
        {
            "household_id": town["ids"],
            "grid_id": pd.array([town["g1"], 999_999, None, None, None], "Int64"),
            "cadre_id": pd.array([None] * 5, "Int64"),
            "pinned": [False] * 5,
            "reason": ["grid_has_no_cadre"] * 2 + ["outside_every_grid"] * 3,
            "assigned_at": [1_767_225_600_000_000] * 5,
        }
    )
    with pytest.raises(
        IntegrityError, match="fk_household_assignments_township_code_grid_id_grids"
    ):
        replace_partition(session, township=TOWNSHIP, rows=rows)
    session.rollback()
    assert _oid(session) == first
    assert assignments(session)["H001"] == ("G1", "C1")


def test_grid_of_another_township_is_refused_by_the_swap(session: Session) -> None:
    town = _town(session)
    other = _town(session, OTHER_TOWNSHIP)
    rows = pd.DataFrame(
        {
            "household_id": town["ids"][:1],
            "grid_id": pd.array([other["g1"]], "Int64"),
            "cadre_id": pd.array([None], "Int64"),
            "pinned": [False],
            "reason": ["grid_has_no_cadre"],
            "assigned_at": [1_767_225_600_000_000],
        }
    )
    with pytest.raises(IntegrityError, match="grid_id_grids"):
        replace_partition(session, township=TOWNSHIP, rows=rows)
    session.rollback()


def test_deleting_a_household_cascades(session: Session) -> None:
    town = _town(session)
    assign_households(session, township=TOWNSHIP)
    session.execute(text("DELETE FROM households WHERE id = :h"), {"h": town["ids"][0]})
    left = session.execute(
        text("SELECT count(*) FROM household_assignments WHERE township_code = :t"),
        {"t": TOWNSHIP},
    ).scalar_one()
    assert left == 4


def test_two_townships_partitions_are_independent(session: Session) -> None:
    _town(session)
    other = _town(session, OTHER_TOWNSHIP)
    assign_households(session, township=TOWNSHIP)
    assign_households(session, township=OTHER_TOWNSHIP)
    other_oid = _oid(session, OTHER_TOWNSHIP)
    other_rows = session.execute(_ROWS, {"t": OTHER_TOWNSHIP}).all()
    # Rebuilding the first township's partition leaves the other one untouched.
    session.execute(
        text(
            "UPDATE households SET geom = ST_Translate(geom, 0.01, 0) "
            "WHERE township_code = :t"
        ),
        {"t": TOWNSHIP},
    )
    assign_households(session, township=TOWNSHIP)
    assert _oid(session, OTHER_TOWNSHIP) == other_oid
    assert session.execute(_ROWS, {"t": OTHER_TOWNSHIP}).all() == other_rows
    names = session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'household_assignments'::regclass ORDER BY 1"
        )
    ).scalars()
    assert list(names) == [partition_name(TOWNSHIP), partition_name(OTHER_TOWNSHIP)]
    assert {r.grid_id for r in other_rows} == {other["g1"], other["g2"], None}


@pytest.mark.parametrize("code", ["62062310100", "620623101000; DROP TABLE x", "abc"])
def test_partition_name_needs_12_digits(code: str) -> None:
    with pytest.raises(InvalidInput, match="12 digits"):
        partition_name(code)


def test_migration_moves_assignments_both_ways(server_url: URL) -> None:
    url = create_database(server_url, prefix="gridgis_mig")
    engine = make_engine(url.render_as_string(False))
    try:
        config = alembic_config(url)
        command.upgrade(config, "0050")
        with engine.begin() as conn:
            conn.execute(text(_OLD_ROWS), {"t": TOWNSHIP})
        command.upgrade(config, "0060")
        with engine.connect() as conn:
            moved = conn.execute(
                text(
                    "SELECT h.code, g.code, c.code, a.pinned, a.reason "
                    "FROM household_assignments a JOIN households h "
                    "  ON h.township_code = a.township_code AND h.id = a.household_id "
                    "LEFT JOIN grids g ON g.township_code = a.township_code "
                    "  AND g.id = a.grid_id "
                    "LEFT JOIN cadres c ON c.township_code = a.township_code "
                    "  AND c.id = a.cadre_id ORDER BY h.code"
                )
            ).all()
            partition = conn.execute(_OID, {"name": partition_name(TOWNSHIP)})
            has_partition = partition.scalar() is not None
        assert [tuple(r) for r in moved] == [
            ("H1", "G1", "C1", True, None),
            ("H2", "G1", None, False, "capacity_exhausted"),
        ]
        assert has_partition
        command.upgrade(config, "head")
        command.check(config)  # the run-time partitions are not a model drift
        command.downgrade(config, "0060")
        command.downgrade(config, "0050")
        with engine.connect() as conn:
            back = conn.execute(
                text(
                    "SELECT h.code, g.code, c.code, h.cadre_pinned FROM households h "
                    "LEFT JOIN grids g ON g.id = h.grid_id "
                    "LEFT JOIN cadres c ON c.id = h.cadre_id ORDER BY h.code"
                )
            ).all()
        assert [tuple(r) for r in back] == [
            ("H1", "G1", "C1", True),
            ("H2", "G1", None, False),
            ("H3", None, None, False),
        ]
        command.upgrade(config, "0060")
    finally:
        engine.dispose()
        drop_database(url)


# Revision 0050's schema: households still carry grid_id, cadre_id, cadre_pinned.
_OLD_ROWS = """
INSERT INTO townships (code, name) VALUES (:t, 'old');
INSERT INTO grids (township_code, code, name, level, geom)
VALUES (:t, 'G1', 'G1', 'grid',
        ST_GeomFromText('MULTIPOLYGON(((102 37, 103 37, 103 38, 102 38, 102 37)))',
                        4326));
INSERT INTO cadres (township_code, code, name, home_grid_id)
SELECT :t, 'C1', 'c', id FROM grids WHERE code = 'G1';
INSERT INTO households (township_code, code, head_name, geom, grid_id, cadre_id,
                        cadre_pinned)
SELECT :t, v.code, 'x', ST_SetSRID(ST_MakePoint(102.5, 37.5), 4326),
       CASE WHEN v.code <> 'H3' THEN g.id END,
       CASE WHEN v.code = 'H1' THEN c.id END, v.code = 'H1'
FROM (VALUES ('H1'), ('H2'), ('H3')) v(code), grids g, cadres c;
"""
