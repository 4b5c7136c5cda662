"""Load the generated demo township into PostGIS, set-based and idempotent.

Each layer is COPYed into a temporary staging table and inserted with one
INSERT ... SELECT that resolves codes to ids; loading again replaces the demo
township in one transaction, so running ``make demo`` twice never duplicates.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.app.demo.data import DemoTownship, generate
from gis_service.core.bulk import copy_frame
from gis_service.core.db import atomic
from gis_service.core.models import MODEL_COLUMNS
from gis_service.core.settings import DisputeSettings
from gis_service.core.sql_files import load_queries
from gis_service.core.townships import township_counts
from grids.assignment.service import assign_households
from grids.assignment.store import drop_partition
from grids.tree.locate import GRID_RULE
from layers import models as _layer_models  # noqa: F401  (roads, hazards: the SQL's columns)
from layers.disputes.detect import detect_disputes

logger = logging.getLogger(__name__)


_SQL_FRAGMENTS = {**GRID_RULE, **MODEL_COLUMNS}
_STAGE = load_queries(Path(__file__).with_name("demo_stage.sql"), _SQL_FRAGMENTS)
_INSERT = load_queries(Path(__file__).with_name("demo_insert.sql"), _SQL_FRAGMENTS)


def delete_township(session: Session, *, township: str) -> None:
    """Remove a township and every row that belongs to it (FKs cascade)."""
    # Assignments reference households, cadres and grids: drop them all at once.
    drop_partition(session, township=township)
    for table in (
        "disputes",
        "pasture_parcels",
        "demands",
        "visits",
        "hazards",
        "households",
        "cadres",
    ):
        session.execute(
            text(f"DELETE FROM {table} WHERE township_code = :t"), {"t": township}
        )
    session.execute(
        text("UPDATE grids SET parent_id = NULL WHERE township_code = :t"),
        {"t": township},
    )
    session.execute(text("DELETE FROM townships WHERE code = :t"), {"t": township})


def write_township(session: Session, data: DemoTownship) -> None:
    """Write every layer of a generated township (inside the caller's transaction)."""
    session.execute(
        text("INSERT INTO townships (code, name, county) VALUES (:c, :n, :k)"),
        {"c": data.code, "n": data.name, "k": data.county},
    )
    for statement in _STAGE.values():
        session.execute(statement)
    frames = {
        "grids": data.grids.rename_geometry("geom"),
        "cadres": data.cadres.rename_geometry("base"),
        "households": data.households.rename_geometry("geom"),
        "parcels": data.parcels.rename_geometry("geom"),
        "hazards": data.hazards.rename_geometry("geom"),
        "roads": data.roads.rename_geometry("geom"),
        "visits": data.visits.rename_geometry("fix"),
        "demands": data.demands,
    }
    for name, frame in frames.items():
        geometry = [frame.geometry.name] if hasattr(frame, "geometry") else []
        arrays = ["tags"] if name == "households" else []
        copy_frame(
            session,
            f"_stage_{name}",
            frame,
            geometry_columns=geometry,
            array_columns=arrays,
        )
    for statement in _INSERT.values():
        session.execute(statement, {"t": data.code})


def load_demo(
    session: Session, *, households: int = 512, seed: int = 20261123
) -> dict[str, int]:
    """Generate and (re)load the demo township atomically; return its row counts."""
    data = generate(households=households, seed=seed)
    # One unit of work: the assignment and detection inside are savepoints, so a
    # failure anywhere leaves the previous demo exactly as it was.
    with atomic(session):
        delete_township(session, township=data.code)
        write_township(session, data)
        # Every household to its grid and a cadre, and the pasture overlaps raised
        # as disputes, so the demo is a working township.
        assign_households(session, township=data.code)
        detect_disputes(session, township=data.code, thresholds=DisputeSettings())
    # Statistics now, not when autovacuum comes by: the first minute of requests
    # on a fresh demo was planned for empty tables (coverage by grid took 24 s).
    with atomic(session):
        session.execute(text("ANALYZE"))
    return township_counts(session, township=data.code)
