"""Foundation: health, problem+json errors, migrations, township isolation, demo."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import shapely

from alembic import command
from gis_service.app.demo.data import generate
from gis_service.app.demo.load import load_demo, write_township
from gis_service.app.demo.subgrids import area_of
from gis_service.core.db import make_engine
from gis_service.core.privacy import mask_id_number, mask_phone
from gis_service.core.townships import township_counts
from grids.assignment.store import assign_to
from tests.conftest import alembic_config, create_database, drop_database
from tests.factories import OTHER_TOWNSHIP, TOWNSHIP, make_grid, make_township, square

PROBLEM = "application/problem+json"
TABLES = {
    "townships", "grids", "cadres", "households", "pasture_parcels", "hazards",
    "visits", "demands", "demand_events", "disputes", "dispute_events", "roads",
}  # fmt: skip


def test_health_reports_postgis_version(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["postgis"].startswith("3.")
    assert body["postgresql"].split(".")[0].isdigit()


def test_index_links_each_township_map(session: Session, client: TestClient) -> None:
    make_township(session)
    response = client.get("/")
    assert response.status_code == 200
    assert f"/townships/{TOWNSHIP}/maps/coverage" in response.text
    assert "/docs" in response.text


def test_unknown_route_is_problem_json(client: TestClient) -> None:
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 404


@pytest.mark.parametrize(
    ("code", "status", "field"),
    [
        ("12345", 422, "township"),
        ("62062310100X", 422, "township"),
        ("999999999999", 404, None),
    ],
)
def test_bad_township_code_is_named(
    client: TestClient, code: str, status: int, field: str | None
) -> None:
    response = client.get(f"/townships/{code}")
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert code in body["detail"]
    if field:
        assert body["errors"][0]["field"] == field


def test_migration_round_trip(server_url: URL) -> None:
    url = create_database(server_url, prefix="gridgis_mig")
    try:
        config = alembic_config(url)
        engine = make_engine(url.render_as_string(False))
        command.upgrade(config, "head")
        assert set(inspect(engine).get_table_names()) >= TABLES
        command.downgrade(config, "base")
        assert not TABLES & set(inspect(engine).get_table_names())
        command.upgrade(config, "head")
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as conn:
            geom_types = dict(
                conn.execute(
                    text("SELECT f_table_name || '.' || f_geometry_column, "
                         "type || ':' || srid FROM geometry_columns "
                         "WHERE f_table_name NOT IN (SELECT viewname FROM pg_views)")
                ).all()
            )  # fmt: skip
            gist = conn.execute(
                text(
                    "SELECT count(*) FROM pg_indexes "
                    "WHERE indexdef ILIKE '%USING gist%'"
                )
            ).scalar_one()
        engine.dispose()
        assert geom_types["households.geom"] == "POINT:4326"
        assert geom_types["grids.geom"] == "MULTIPOLYGON:4326"
        assert geom_types["pasture_parcels.geom"] == "MULTIPOLYGON:4326"
        assert gist == len(geom_types)
    finally:
        drop_database(url)


def test_check_constraints_hold_enumerations(session: Session) -> None:
    make_township(session)
    with pytest.raises(IntegrityError, match="ck_hazards_kind_known"):
        session.execute(
            text("INSERT INTO hazards (township_code, code, kind, found_at, geom) "
                 "VALUES (:t, 'X', 'meteor', now(), 'SRID=4326;POINT(102.5 37.1)')"),
            {"t": TOWNSHIP},
        )  # fmt: skip
    session.rollback()
    with pytest.raises(IntegrityError, match="ck_households_tags_known"):
        session.execute(
            text("INSERT INTO households (township_code, code, head_name, tags, geom) "
                 "VALUES (:t, 'H1', 'x', ARRAY['富裕'], "
                 "'SRID=4326;POINT(102.5 37.1)')"),
            {"t": TOWNSHIP},
        )  # fmt: skip
    session.rollback()


def test_geometry_column_refuses_other_srid(session: Session) -> None:
    make_township(session)
    with pytest.raises(Exception, match="SRID"):
        session.execute(
            text("INSERT INTO households (township_code, code, head_name, geom) "
                 "VALUES (:t, 'H1', 'x', 'SRID=4490;POINT(102.5 37.1)')"),
            {"t": TOWNSHIP},
        )  # fmt: skip
    session.rollback()


def test_two_townships_never_mix(session: Session, client: TestClient) -> None:
    small = generate(households=60, seed=7)
    other = dataclasses.replace(
        generate(households=80, seed=8), code=OTHER_TOWNSHIP, name="另一镇"
    )
    write_township(session, small)
    write_township(session, other)
    session.commit()
    # Same household/grid codes exist in both; every count stays in its township.
    a = township_counts(session, township=TOWNSHIP)
    b = township_counts(session, township=OTHER_TOWNSHIP)
    assert a["households"] == 60 and b["households"] == 80
    assert a["grids"] == b["grids"] == 9
    assert (
        client.get(f"/townships/{OTHER_TOWNSHIP}").json()["counts"]["households"] == 80
    )
    # A household cannot point at a grid of another township (composite foreign key).
    foreign_grid = session.execute(
        text("SELECT id FROM grids WHERE township_code = :t LIMIT 1"),
        {"t": OTHER_TOWNSHIP},
    ).scalar_one()
    household = session.execute(
        text("SELECT id FROM households WHERE township_code = :t LIMIT 1"),
        {"t": TOWNSHIP},
    ).scalar_one()
    with pytest.raises(
        IntegrityError, match="fk_household_assignments_township_code_grid_id_grids"
    ):
        assign_to(
            session,
            township=TOWNSHIP,
            household_ids=[household],
            grid_id=foreign_grid,
            cadre_id=None,
        )
    session.rollback()


def test_grid_parent_must_be_in_same_township(session: Session) -> None:
    make_township(session)
    make_township(session, OTHER_TOWNSHIP)
    root = make_grid(session, "G0", square(102.0, 37.0, 0.1), level="core")
    with pytest.raises(IntegrityError):
        session.execute(
            text("INSERT INTO grids (township_code, code, name, level, parent_id, "
                 "geom) VALUES (:t, 'X', 'x', 'grid', :p, "
                 "'SRID=4326;MULTIPOLYGON(((0 0,1 0,1 1,0 0)))')"),
            {"t": OTHER_TOWNSHIP, "p": root},
        )  # fmt: skip
        session.flush()
    session.rollback()


def test_demo_load_is_idempotent_and_realistic(scratch_url: URL) -> None:
    engine = make_engine(scratch_url.render_as_string(False))
    try:
        with Session(engine) as s:
            first = load_demo(s)
        with Session(engine) as s:
            second = load_demo(s)
        assert first == second
        assert first["households"] == 512
        assert first["grids"] == 9
        assert 35 <= first["cadres"] <= 50
        assert 280 <= first["pasture_parcels"] <= 320
        assert first["hazards"] == 25
        assert first["visits"] > 400
        with engine.connect() as conn:
            area_km2, levels, valid = conn.execute(
                text("SELECT ST_Area(geom::geography) / 1e6, "
                     "(SELECT array_agg(DISTINCT level ORDER BY level) FROM grids), "
                     "(SELECT bool_and(ST_IsValid(geom)) FROM grids) "
                     "FROM grids WHERE level = 'core'")
            ).one()  # fmt: skip
            # The six grids tile the core exactly: no gap, no overlap.
            gap = conn.execute(
                text("SELECT ST_Area(ST_SymDifference(c.geom, u.geom)::geography) "
                     "FROM grids c, (SELECT ST_Union(geom) AS geom FROM grids "
                     "WHERE level='grid') u "
                     "WHERE c.level = 'core'")
            ).scalar_one()  # fmt: skip
            capacities = conn.execute(
                text("SELECT min(capacity), max(capacity) FROM cadres")
            ).one()
        assert 680 <= area_km2 <= 800
        assert levels == ["core", "domain", "grid"]
        assert valid
        assert gap < 1.0  # m²: borders are shared exactly
        assert tuple(capacities) == (12, 14)
    finally:
        engine.dispose()


def test_demo_scales() -> None:
    data = generate(households=5000, seed=3)
    assert len(data.households) == 5000
    assert data.households["code"].is_unique
    assert len(data.parcels) > 2500
    # As a real township: grids of 200-400 households, each with ceil(n / 13) cadres
    # of 12-14 (so a few households may be left over, as the demo shows), not 5 000
    # households crowded into six grids.
    grids = data.grids
    assert sorted(set(grids["level"])) == ["core", "domain", "grid", "village"]
    leaves = grids.loc[grids["level"] == "grid"].reset_index(drop=True)
    hh = data.households.geometry
    where = area_of(list(leaves.geometry), hh.x.to_numpy(), hh.y.to_numpy())
    assert (where >= 0).sum() == 5000 - 2  # the two over the township line
    per_grid = np.bincount(where[where >= 0], minlength=len(leaves))
    assert per_grid.min() >= 200 and per_grid.max() <= 400
    room = data.cadres.groupby("home_grid_code")["capacity"].sum()
    room_per_grid = room.reindex(leaves["code"]).to_numpy()
    assert (abs(room_per_grid - per_grid) <= 0.08 * per_grid).all()
    assert set(data.cadres["capacity"]) == {12, 13, 14}
    # ... and still tiling the core exactly (shared cuts, no gap, no overlap).
    core = grids.loc[grids["level"] == "core", "geometry"].iloc[0]
    union = shapely.union_all(leaves.geometry.to_numpy())
    assert shapely.area(shapely.symmetric_difference(core, union)) < 1e-9  # deg²
    assert shapely.area(union) == pytest.approx(leaves.geometry.area.sum(), rel=1e-9)


@pytest.mark.parametrize(
    ("value", "masked"),
    [("620123199001011234", "620123********1234"), (None, None), ("", "")],
)
def test_mask_id_number(value: str | None, masked: str | None) -> None:
    assert mask_id_number(value) == masked


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"


def test_url_resolution(server_url: URL) -> None:
    assert make_url(str(server_url.render_as_string(False))).drivername.startswith(
        "postgresql"
    )


def test_api_docs_work_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn.jsdelivr.net" not in page.text
    assert "/static/maps/vendor/swagger-ui/swagger-ui-bundle.js" in page.text
    script = client.get("/static/maps/vendor/swagger-ui/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
