"""Scope keys on the rows (migration 0160): households, parcels and disputes carry
their assignment's grid and cadre, the database keeps them equal to it, and the
grid leaders' and cadres' policies that test them see exactly the rows 0151's
rule (through ``household_assignments``) saw."""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gis_service.core.auth.models import User
from gis_service.core.auth.principal import resolve
from gis_service.core.auth.scope import SYSTEM_ROLE, apply_scope, clear_scope
from gis_service.core.db import make_engine
from gis_service.core.settings import DisputeSettings
from grids.assignment import store
from layers.disputes.detect import detect_disputes
from tests.auth.factories_scope import World, make_world
from tests.factories import TOWNSHIP
from tests.grids.factories_visits import make_town
from tests.layers.factories_disputes import make_parcels, rect

# Every copy against its source (as the owner): rows listed here have drifted.
DRIFT = text(
    """
    SELECT 'household', h.id FROM households h
      LEFT JOIN household_assignments a
             ON a.township_code = h.township_code AND a.household_id = h.id
     WHERE (h.grid_id, h.cadre_id) IS DISTINCT FROM (a.grid_id, a.cadre_id)
    UNION ALL
    SELECT 'parcel', p.id FROM pasture_parcels p
      LEFT JOIN households h
             ON h.township_code = p.township_code AND h.id = p.holder_household_id
     WHERE (p.holder_grid_id, p.holder_cadre_id)
           IS DISTINCT FROM (h.grid_id, h.cadre_id)
    UNION ALL
    SELECT 'dispute', d.id FROM disputes d
      JOIN pasture_parcels pa ON pa.township_code = d.township_code
                             AND pa.id = d.parcel_a_id
      JOIN pasture_parcels pb ON pb.township_code = d.township_code
                             AND pb.id = d.parcel_b_id
     WHERE (d.grid_a_id, d.cadre_a_id, d.grid_b_id, d.cadre_b_id) IS DISTINCT FROM
           (pa.holder_grid_id, pa.holder_cadre_id,
            pb.holder_grid_id, pb.holder_cadre_id)
    """
)
# 0151's rule, evaluated as the owner for a scope's assignments (``:scope``).
OLD_RULE = {
    "households": "SELECT h.id FROM households h WHERE h.township_code = :t"
    " AND (h.township_code, h.id) IN ({assigned})",
    "pasture_parcels": "SELECT p.id FROM pasture_parcels p WHERE p.township_code = :t"
    " AND (p.township_code, p.holder_household_id) IN ({assigned})",
    "disputes": "SELECT d.id FROM disputes d WHERE d.township_code = :t AND EXISTS"
    " (SELECT 1 FROM pasture_parcels p WHERE p.township_code = d.township_code"
    " AND p.id IN (d.parcel_a_id, d.parcel_b_id)"
    " AND (p.township_code, p.holder_household_id) IN ({assigned}))",
}
ASSIGNED = {
    "grid_leader": "SELECT a.township_code, a.household_id FROM household_assignments a"
    " WHERE a.grid_id = ANY (CAST(:grids AS bigint[]))",
    "cadre": "SELECT a.township_code, a.household_id FROM household_assignments a"
    " WHERE a.cadre_id = :cadre",
}


def drift(session: Session) -> list[Any]:
    return list(session.execute(DRIFT).all())


def with_parcels(session: Session) -> World:
    """The access world plus parcels (one per holder, one unheld) and disputes."""
    world = make_world(session)
    h = world.households
    make_parcels(
        session,
        [
            ("P1", rect(102.500, 37.100, 102.502, 37.102), h["H001"], None),
            ("P3", rect(102.501, 37.100, 102.503, 37.102), h["H002"], None),
            ("P5", rect(102.5015, 37.1005, 102.5035, 37.1025), h["H004"], None),
            ("P2", rect(102.510, 37.100, 102.512, 37.102), h["H005"], None),
            ("P4", rect(102.511, 37.100, 102.513, 37.102), h["H006"], None),
            ("P6", rect(102.5115, 37.1005, 102.5135, 37.1025), None, None),
        ],
    )
    detect_disputes(session, township=TOWNSHIP, thresholds=DisputeSettings())
    return world


def seen(session: Session, username: str) -> dict[str, set[int]]:
    """Each scoped table's ids of township A under ``username``'s policies."""
    user = session.query(User).filter_by(username=username).one()
    apply_scope(session, resolve(session, user, via="bearer"))
    try:
        return {
            table: set(
                session.execute(
                    text(f"SELECT id FROM {table} WHERE township_code = :t"),
                    {"t": TOWNSHIP},
                ).scalars()
            )
            for table in OLD_RULE
        }
    finally:
        clear_scope(session)


def old_rule(session: Session, username: str) -> dict[str, set[int]]:
    """The same tables' ids by 0151's rule (through the assignments)."""
    user = session.query(User).filter_by(username=username).one()
    principal = resolve(session, user, via="bearer")
    params = {
        "t": TOWNSHIP,
        "grids": list(principal.grid_ids),
        "cadre": principal.cadre_id,
    }
    assigned = ASSIGNED[principal.role]
    return {
        table: set(
            session.execute(text(sql.format(assigned=assigned)), params).scalars()
        )
        for table, sql in OLD_RULE.items()
    }


def assert_same_rows(session: Session) -> None:
    for user in ("leader_a", "cadre_c1"):
        assert seen(session, user) == old_rule(session, user), user


def test_keys_follow_the_world_and_scope_matches_the_old_rule(session: Session) -> None:
    world = with_parcels(session)
    assert drift(session) == []
    keys = dict(
        session.execute(
            text("SELECT code, grid_id FROM households WHERE township_code = :t"),
            {"t": TOWNSHIP},
        ).all()
    )
    assert keys["H001"] == world.grids["A"] and keys["H005"] == world.grids["B"]
    old = old_rule(session, "leader_a")
    assert len(old["households"]) == 4 and len(old["disputes"]) >= 1
    assert old["disputes"] != set()
    assert_same_rows(session)


def test_reassigning_moves_the_keys_down_to_parcels_and_disputes(
    session: Session,
) -> None:
    world = with_parcels(session)
    h, grids, cadres = world.households, world.grids, world.cadres
    before = seen(session, "leader_a")["households"]
    store.assign_to(
        session,
        township=TOWNSHIP,
        household_ids=[h["H001"]],
        grid_id=grids["B"],
        cadre_id=cadres["C2"],
    )
    assert drift(session) == []
    assert h["H001"] not in seen(session, "leader_a")["households"]
    assert seen(session, "leader_a")["households"] == before - {h["H001"]}
    parcel = session.execute(
        text(
            "SELECT holder_grid_id, holder_cadre_id FROM pasture_parcels"
            " WHERE township_code = :t AND contract_no = 'P1'"
        ),
        {"t": TOWNSHIP},
    ).one()
    assert tuple(parcel) == (grids["B"], cadres["C2"])
    assert_same_rows(session)
    # no assignment at all: no keys, in nobody's narrow scope
    session.execute(
        text("DELETE FROM household_assignments WHERE township_code = :t"
             " AND household_id = :h"),
        {"t": TOWNSHIP, "h": h["H002"]},
    )  # fmt: skip
    assert drift(session) == []
    assert_same_rows(session)


def test_a_full_run_swap_syncs_the_keys(session: Session) -> None:
    world = with_parcels(session)
    h, grids, cadres = world.households, world.grids, world.cadres
    rows = pd.read_sql_query(
        text(
            "SELECT household_id, grid_id, cadre_id, pinned, reason,"
            " CAST(extract(epoch FROM assigned_at) * 1e6 AS bigint) AS assigned_at"
            " FROM household_assignments WHERE township_code = :t"
        ),
        session.connection(),
        params={"t": TOWNSHIP},
    )
    moved = rows["household_id"] == h["H005"]
    rows.loc[moved, ["grid_id", "cadre_id"]] = (grids["A"], cadres["C1"])
    rows["grid_id"] = rows["grid_id"].astype("Int64")
    rows["cadre_id"] = rows["cadre_id"].astype("Int64")
    store.replace_partition(session, township=TOWNSHIP, rows=rows)
    assert drift(session) == []
    assert h["H005"] in seen(session, "leader_a")["households"]
    assert h["H005"] in seen(session, "cadre_c1")["households"]
    assert_same_rows(session)


@pytest.mark.parametrize("user", ["admin_a", "leader_a"])
def test_a_written_key_is_recomputed_from_its_source(
    session: Session, user: str
) -> None:
    world = with_parcels(session)
    h, grids = world.households, world.grids
    account = session.query(User).filter_by(username=user).one()
    apply_scope(session, resolve(session, account, via="bearer"))
    try:
        # a leader moving a household out of (or into) someone's scope by hand
        session.execute(
            text("UPDATE households SET grid_id = :g, cadre_id = NULL"
                 " WHERE township_code = :t AND id = :h"),
            {"g": grids["B"], "t": TOWNSHIP, "h": h["H001"]},
        )  # fmt: skip
        session.execute(
            text("UPDATE disputes SET grid_a_id = :g, grid_b_id = :g"
                 " WHERE township_code = :t"),
            {"g": grids["B"], "t": TOWNSHIP},
        )  # fmt: skip
    finally:
        clear_scope(session)
    assert drift(session) == []
    assert_same_rows(session)


def test_a_parcel_changing_holder_takes_its_disputes_along(session: Session) -> None:
    world = with_parcels(session)
    h, grids = world.households, world.grids
    session.execute(
        text("UPDATE pasture_parcels SET holder_household_id = :h"
             " WHERE township_code = :t AND contract_no = 'P6'"),
        {"h": h["H003"], "t": TOWNSHIP},
    )  # fmt: skip
    assert drift(session) == []
    grid_b = session.execute(
        text("SELECT count(*) FROM disputes WHERE township_code = :t"
             " AND (grid_a_id = :g OR grid_b_id = :g)"),
        {"t": TOWNSHIP, "g": grids["A"]},
    ).scalar_one()  # fmt: skip
    assert grid_b >= 1
    assert_same_rows(session)


def test_assignment_partitions_are_written_through_the_parent_only(
    session: Session,
) -> None:
    make_world(session)
    partition = store.partition_name(TOWNSHIP)
    session.execute(text("SELECT set_config('role', :r, true)"), {"r": SYSTEM_ROLE})
    savepoint = session.begin_nested()
    with pytest.raises(DBAPIError, match="permission denied"):
        session.execute(text(f"UPDATE {partition} SET grid_id = NULL"))
    savepoint.rollback()
    session.execute(text("SELECT set_config('role', 'none', true)"))


def test_a_parcel_written_during_a_reassignment_gets_the_new_keys(
    scratch_url: URL,
) -> None:
    """Two transactions: a reassignment (uncommitted) and a parcel for the same
    holder. The parcel's guard reads the holder FOR SHARE, so it waits for the
    reassignment and copies the new keys (without the lock: the old ones)."""
    engine = make_engine(scratch_url.render_as_string(False))
    try:
        with Session(engine) as setup:
            town = make_town(setup)
        h, grids, cadres = town.households, town.grids, town.cadres
        with Session(engine) as mover, Session(engine) as writer:
            store.assign_to(
                mover,
                township=TOWNSHIP,
                household_ids=[h["H001"]],
                grid_id=grids["B"],
                cadre_id=cadres["C2"],
            )
            mover.flush()
            done = threading.Event()

            def write_parcel() -> None:
                make_parcels(
                    writer,
                    [("P9", rect(102.5, 37.1, 102.501, 37.101), h["H001"], None)],
                )
                done.set()

            thread = threading.Thread(target=write_parcel)
            thread.start()
            assert not done.wait(0.5)  # waiting on the holder's row lock
            mover.commit()
            thread.join(10)
            assert done.is_set()
        with Session(engine) as check:
            assert drift(check) == []
            keys = check.execute(
                text("SELECT holder_grid_id, holder_cadre_id FROM pasture_parcels"
                     " WHERE contract_no = 'P9'")
            ).one()  # fmt: skip
            assert tuple(keys) == (grids["B"], cadres["C2"])
    finally:
        engine.dispose()
