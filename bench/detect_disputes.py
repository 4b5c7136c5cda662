"""Benchmark: pasture-dispute detection at 100 000 parcels, service vs geopandas.

Same data, same process: a Voronoi tessellation with ~3 % of parcels spilling
over their neighbours and ~2 % digitising slivers (bench/_parcel_data.py) is
loaded into PostGIS as township 620623999000, then timed through

* the service (``layers.disputes.detect.detect_disputes``: detection SQL, records,
  findings; a first run creating every dispute and a re-run reconciling them),
* geopandas sjoin + vectorised shapely intersection (+ equal-area measurement
  and the same thresholds), the peer the target is set against,
* ``geopandas.overlay(how="intersection")`` of the layer with itself.

    PYTHONPATH=. python bench/detect_disputes.py [--parcels 100000] [--skip-overlay]

Uses GRIDGIS_DATABASE_URL (or the embedded cluster); the bench township is
replaced on each run and removed at the end unless --keep.
"""

from __future__ import annotations

import argparse
import resource
import time
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

import geopandas as gpd
import shapely

from bench._parcel_data import load_parcels, make_parcels
from gis_service.app.demo.load import delete_township
from gis_service.core.cli import database_url
from gis_service.core.db import atomic, make_engine
from gis_service.core.settings import DisputeSettings
from layers.disputes.detect import SQL, detect_disputes

TOWNSHIP = "620623999000"


def _peer_counts(
    frame: gpd.GeoDataFrame, left: np.ndarray, right: np.ndarray, inter: np.ndarray
) -> dict[str, int]:
    """Classify intersecting pairs like the service: equal-area m², same thresholds."""
    keep = shapely.area(inter) > 0  # interiors intersect
    left, right, inter = left[keep], right[keep], inter[keep]
    crs = frame.estimate_utm_crs()
    overlap_m2 = gpd.GeoSeries(inter, crs=4326).to_crs(crs).area.to_numpy()
    parcel_m2 = frame.to_crs(crs).area.to_numpy()
    holders = frame["holder_code"].to_numpy()
    t = DisputeSettings()
    same = holders[left] == holders[right]
    smaller = np.minimum(parcel_m2[left], parcel_m2[right])
    big = (overlap_m2 >= t.min_area_m2) & (overlap_m2 >= t.min_share * smaller)
    return {
        "pairs": len(left),
        "disputes": int((~same & big).sum()),
        "slivers": int((~same & ~big).sum()),
        "self_overlaps": int(same.sum()),
    }


def sjoin_intersection(frame: gpd.GeoDataFrame) -> tuple[float, dict[str, int]]:
    """geopandas sjoin (STRtree, predicate intersects) + vectorised intersection."""
    started = time.perf_counter()
    joined = gpd.sjoin(frame, frame, predicate="intersects")
    left = joined.index.to_numpy()
    right = joined["index_right"].to_numpy()
    ordered = left < right
    left, right = left[ordered], right[ordered]
    geoms = frame.geometry.to_numpy()
    inter = shapely.intersection(geoms[left], geoms[right])
    counts = _peer_counts(frame, left, right, inter)
    return time.perf_counter() - started, counts


def overlay(frame: gpd.GeoDataFrame) -> tuple[float, dict[str, int]]:
    """geopandas.overlay of the layer with itself (every pair, both orders)."""
    started = time.perf_counter()
    a = frame[["holder_code", "geometry"]].assign(i=np.arange(len(frame)))
    out = gpd.overlay(a, a, how="intersection", keep_geom_type=True)
    out = out[out["i_1"] < out["i_2"]]
    counts = _peer_counts(
        frame, out["i_1"].to_numpy(), out["i_2"].to_numpy(), out.geometry.to_numpy()
    )
    return time.perf_counter() - started, counts


def explain(session: Session) -> str:
    """The plan shape of the detection statement (no ANALYZE, no costs)."""
    statement = text("EXPLAIN (COSTS OFF) " + str(SQL["create_pairs"]))
    params: dict[str, Any] = {
        "township": TOWNSHIP,
        "invalid": [],
        "min_area_m2": 100.0,
        "min_width_m": 2.0,
        "min_share": 0.01,
        "zero_m2": 0.01,
    }
    with atomic(session):
        session.execute(text("SET LOCAL jit = off"))
        session.execute(SQL["set_scans"], {"bitmap": "off", "seq": "off"})  # as run
        session.execute(SQL["drop_pairs"])
        rows = session.execute(statement, params).scalars().all()
    return "\n".join(rows)


def main() -> None:
    """Load the parcels, time the three detections, print the ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--skip-overlay", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    frame = make_parcels(args.parcels)
    print(f"generated {len(frame)} parcels in {time.perf_counter() - started:.1f} s")
    engine = make_engine(database_url())
    with Session(engine) as session:
        started = time.perf_counter()
        load_parcels(session, TOWNSHIP, frame)
        print(f"loaded into PostGIS in {time.perf_counter() - started:.1f} s")
        print("plan of the detection statement:\n" + explain(session))

        results = {}
        for label in ("service (first run)", "service (re-run)"):
            started = time.perf_counter()
            result = detect_disputes(
                session, township=TOWNSHIP, thresholds=DisputeSettings()
            )
            results[label] = time.perf_counter() - started
            print(
                f"{label}: {results[label]:.2f} s  new={result.new} "
                f"updated={result.updated} closed={result.closed} "
                f"disputes={result.detected} slivers={result.slivers} "
                f"self_overlaps={result.self_overlaps} "
                f"area_mismatches={result.area_mismatches}"
            )

        peer_s, peer = sjoin_intersection(frame)
        print(f"geopandas sjoin + shapely.intersection: {peer_s:.2f} s  {peer}")
        service_s = results["service (first run)"]
        print(f"ratio service/sjoin+intersection: {service_s / peer_s:.2f}")
        print(f"ratio service re-run/sjoin: {results['service (re-run)'] / peer_s:.2f}")

        if not args.skip_overlay:
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            overlay_s, counts = overlay(frame)
            rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            print(
                f"geopandas.overlay: {overlay_s:.2f} s  {counts}  "
                f"peak RSS {rss_after / 1024:.0f} MB (before {rss_before / 1024:.0f})"
            )
            print(f"ratio service/overlay: {service_s / overlay_s:.2f}")

        if not args.keep:
            with atomic(session):
                delete_township(session, township=TOWNSHIP)
    engine.dispose()


if __name__ == "__main__":
    main()
