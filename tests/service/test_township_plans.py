"""One township's statements stay as cheap among many townships as alone.

bench/province.py measures it (40 townships); these keep the two causes it found
from coming back: a spatial probe ANDed with the primary key's whole township
range (GIST indexes lead with township_code, migration 0120; pasture parcels
keep GIST (geom) and detection keeps the township test off the index, 0150), and
JIT compiling
a short township statement for ~1 s (every GridGIS connection runs JIT off).
"""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis_service.core.db import make_engine
from gis_service.core.settings import DisputeSettings
from layers.disputes.detect import SQL, detect_disputes
from tests.factories import TOWNSHIP, make_township

# GIST indexes of plain tables that hold township data, first column each.
_GIST = text(
    """
    SELECT c.relname AS tbl, i.relname AS idx, a.attname AS first
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_am am ON am.oid = i.relam AND am.amname = 'gist'
    JOIN pg_class c ON c.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0]
    WHERE c.relkind = 'r' AND NOT c.relispartition
      AND EXISTS (SELECT 1 FROM pg_attribute t WHERE t.attrelid = c.oid
                  AND t.attname = 'township_code' AND NOT t.attisdropped)
    ORDER BY 1, 2
    """
)

_PARCELS = text(
    """
    INSERT INTO pasture_parcels (township_code, contract_no, geom)
    SELECT :t, 'P' || g,
           ST_Multi(ST_MakeEnvelope(:x + (g % 50) * 0.001, 37 + (g / 50) * 0.001,
                                    :x + (g % 50) * 0.001 + 0.0012,
                                    37 + (g / 50) * 0.001 + 0.0012, 4326))
    FROM generate_series(0, 1999) g
    """
)


def test_every_spatial_index_of_a_township_table_leads_with_township_code(
    session: Session,
) -> None:
    rows = session.execute(_GIST).all()
    assert {r.tbl for r in rows} >= {"pasture_parcels", "grids", "cadres", "roads"}
    # pasture_parcels: GIST (geom) is 4x cheaper per probe (migration 0150)
    assert [r.idx for r in rows if r.first != "township_code"] == [
        "idx_pasture_parcels_geom"
    ]


def test_detection_probes_one_township_in_one_index_scan(session: Session) -> None:
    # 20 townships of 2 000 parcels: with a bare `b.township_code = :township`
    # this plans a BitmapAnd of GIST (geom) with the primary key's township range
    for k in range(20):
        code = TOWNSHIP if k == 0 else f"6206232{k:02d}000"
        make_township(session, code, name=f"镇{code}")
        session.execute(_PARCELS, {"t": code, "x": 100.0 + k})
    session.execute(text("ANALYZE pasture_parcels"))
    sql = SQL["create_pairs"].text.replace("CREATE TEMP TABLE _dispute_pairs AS", "")
    params = {"township": TOWNSHIP, "invalid": [], "min_area_m2": 100.0,
              "min_width_m": 2.0, "min_share": 0.0, "zero_m2": 0.01}  # fmt: skip
    # as detect.py runs it
    session.execute(SQL["set_scans"], {"bitmap": "off", "seq": "off"})
    plan = "\n".join(session.execute(text("EXPLAIN " + sql), params).scalars())
    assert "BitmapAnd" not in plan, plan
    assert "Index Scan using idx_pasture_parcels_geom" in plan, plan
    assert "Seq Scan" not in plan, plan  # not the whole table for one township
    session.execute(SQL["set_scans"], {"bitmap": "on", "seq": "on"})
    detect_disputes(session, township=TOWNSHIP, thresholds=DisputeSettings())
    assert session.execute(text("SHOW enable_bitmapscan")).scalar() == "on"
    assert session.execute(text("SHOW enable_seqscan")).scalar() == "on"


def test_connections_run_without_jit(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
    other = make_engine(
        engine.url.render_as_string(hide_password=False),
        connect_args={"options": "-c statement_timeout=4321"},
    )
    try:
        with other.connect() as conn:  # options given are kept beside it
            assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "4321ms"
    finally:
        other.dispose()
