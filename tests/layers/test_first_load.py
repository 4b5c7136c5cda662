"""A township's first households go by COPY into a partition of their own.

The rows must be exactly the ones the ordinary (staging + INSERT) path writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.errors import InvalidInput, NotFound
from grids.assignment.service import reassign
from layers.io.importing import import_file
from layers.io.specs import get_layer
from tests.factories import TOWNSHIP, make_township
from tests.layers.factories_layers import households_frame, write

OTHER = "620623102000"  # a township that already has a household

_PARTITIONS = text(
    "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
    "JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = 'households'::regclass ORDER BY 1"
)
_INDEXES = text(
    "SELECT indexdef FROM pg_indexes WHERE tablename = :name ORDER BY indexname"
)
_ROWS = text(
    "SELECT code, head_name, members, village, address, tags, id_number, phone, "
    "ST_AsEWKT(geom) FROM households WHERE township_code = :t ORDER BY code"
)
_WHERE = text(
    "SELECT tableoid::regclass::text, count(*) FROM households "
    "WHERE township_code = :t GROUP BY 1"
)


@pytest.fixture(autouse=True)
def townships(session: Session) -> None:
    make_township(session)
    make_township(session, OTHER, "别的镇")
    session.execute(
        text(
            "INSERT INTO households (township_code, code, head_name, geom) "
            "VALUES (:t, 'OLD', 'x', ST_SetSRID(ST_MakePoint(102.4, 37.0), 4326))"
        ),
        {"t": OTHER},
    )


def _import(session: Session, path: Path, township: str = TOWNSHIP) -> Any:
    return import_file(session, township=township, layer="households", path=path)


def test_first_import_builds_and_attaches_the_townships_partition(
    session: Session, tmp_path: Path
) -> None:
    report = _import(session, write(households_frame(5), tmp_path / "h.gpkg"))
    assert (report["inserted"], report["updated"], report["unchanged"]) == (5, 0, 0)
    partitions = dict(session.execute(_PARTITIONS).tuples().all())
    assert partitions[f"households_{TOWNSHIP}"] == f"FOR VALUES IN ('{TOWNSHIP}')"
    assert partitions["households_default"] == "DEFAULT"
    indexes = session.execute(_INDEXES, {"name": f"households_{TOWNSHIP}"}).scalars()
    kinds = sorted(i.split(" USING ")[1] for i in indexes)
    assert kinds == ["btree (cadre_id, township_code)",  # scope keys (0160)
                     "btree (grid_id, township_code)",
                     "btree (township_code, code)", "btree (township_code, id)",
                     "gist (geom)"]  # fmt: skip
    assert dict(session.execute(_WHERE, {"t": TOWNSHIP}).tuples().all()) == {
        f"households_{TOWNSHIP}": 5
    }
    # Every household got its assignment row (outside every grid: none exist).
    reasons = session.execute(
        text(
            "SELECT reason, count(*) FROM household_assignments "
            "WHERE township_code = :t GROUP BY 1"
        ),
        {"t": TOWNSHIP},
    ).all()
    assert [tuple(r) for r in reasons] == [("outside_every_grid", 5)]

    # Later imports upsert through the parent into the same partition.
    more = households_frame(7)
    again = _import(session, write(more, tmp_path / "h2.gpkg"))
    assert (again["inserted"], again["unchanged"]) == (2, 5)
    assert dict(session.execute(_WHERE, {"t": TOWNSHIP}).tuples().all()) == {
        f"households_{TOWNSHIP}": 7
    }


def test_first_load_writes_the_rows_the_ordinary_path_writes(
    session: Session, tmp_path: Path
) -> None:
    # Blank members (default 1), a masked ID number (nothing stored to keep:
    # NULL), a blank tag cell, no address column at all.
    frame = households_frame(
        3,
        members=[2, None, 4],
        id_number=["620623199001011234", "620623********1234", None],
        tags=["低保", "", "残疾,低保"],
    )
    path = write(frame, tmp_path / "h.geojson")
    _import(session, path)  # TOWNSHIP has no households: first load
    _import(session, path, township=OTHER)  # OTHER has one: staging + INSERT
    assert dict(session.execute(_WHERE, {"t": OTHER}).tuples().all()) == {
        "households_default": 4
    }
    ours = session.execute(_ROWS, {"t": TOWNSHIP}).all()
    ordinary = [r for r in session.execute(_ROWS, {"t": OTHER}).all() if r[0] != "OLD"]
    assert ours == ordinary
    assert [r.members for r in ours] == [2, 1, 4]
    assert [r.id_number for r in ours] == ["620623199001011234", None, None]


def test_column_defaults_match_the_layers_defaults(session: Session) -> None:
    # A file without a defaulted column leaves it to the column default in a
    # first load, and to the layer's default in the ordinary INSERT.
    for f in get_layer("households").fields:
        if f.default is None:
            continue
        same = session.execute(
            text(
                "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d "
                "JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
                "WHERE d.adrelid = 'households'::regclass AND a.attname = :c"
            ),
            {"c": f.name},
        ).scalar_one()
        equal = session.execute(
            text(f"SELECT ({same}) IS NOT DISTINCT FROM ({f.default})")
        ).scalar_one()
        assert equal, (f.name, same, f.default)


def test_a_rejected_first_import_creates_no_partition(
    session: Session, tmp_path: Path
) -> None:
    frame = households_frame(3, members=[1, 5000, 2])
    with pytest.raises(InvalidInput) as caught:
        _import(session, write(frame, tmp_path / "h.gpkg"))
    problem = caught.value.errors
    assert problem == [
        {"feature": 1, "code": "H2", "field": "members",
         "reason": "must be <= 999, got 5000"}
    ]  # fmt: skip
    assert f"households_{TOWNSHIP}" not in dict(
        session.execute(_PARTITIONS).tuples().all()
    )


def test_a_township_with_households_elsewhere_takes_the_ordinary_path(
    session: Session, tmp_path: Path
) -> None:
    report = _import(session, write(households_frame(2), tmp_path / "h.gpkg"), OTHER)
    assert report["inserted"] == 2
    partitions = dict(session.execute(_PARTITIONS).tuples().all())
    assert f"households_{OTHER}" not in partitions


def test_ids_from_a_first_load_never_collide(session: Session, tmp_path: Path) -> None:
    _import(session, write(households_frame(4), tmp_path / "h.gpkg"))
    _import(session, write(households_frame(4), tmp_path / "h.gpkg"), OTHER)
    ids = session.execute(text("SELECT id FROM households")).scalars().all()
    assert len(ids) == len(set(ids)) == 9


def test_reassigning_unknown_ids_is_a_404_on_the_full_run_path(
    session: Session, tmp_path: Path
) -> None:
    _import(session, write(households_frame(2), tmp_path / "h.gpkg"))
    known = session.execute(
        text("SELECT id FROM households WHERE township_code = :t"), {"t": TOWNSHIP}
    ).scalars()
    with pytest.raises(NotFound, match="1 household"):
        reassign(session, township=TOWNSHIP, household_ids=[*known, 987_654_321])
