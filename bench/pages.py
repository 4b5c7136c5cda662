"""Workbench page timing: every page's HTML, server side, on the demo township.

Targets (issue #15): each page in at most 300 ms at 12 800 households (鄌郚镇
size) and at most 1 s at 100 000. Requests go through the whole app in process
(TestClient: sign-in, scope, RLS, middleware, templates), signed in as the
township's admin, a grid leader and a cadre of the demo (``demo_users``), with
ids each of them may see; each page is asked ``--reps`` times after one
warm-up, and the median and p95 are printed with the target. The maps a page
links to are timed too.

    PYTHONPATH=. .venv/bin/python bench/pages.py [--sizes 12800,100000] [--reps 10]
"""

from __future__ import annotations

import argparse
import statistics
import time

from fastapi.testclient import TestClient
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

from gis_service.app.demo.load import load_demo
from gis_service.app.demo.users import demo_users
from gis_service.app.main import create_app
from gis_service.core.auth import tokens
from gis_service.core.cli import database_url
from gis_service.core.db import make_engine
from gis_service.core.settings import AuthSettings, Settings
from tests.conftest import drop_database, migrated_database

TOWNSHIP = "620623101000"
W = f"/w/{TOWNSHIP}"
_GRID = text(
    "SELECT g.code FROM grids g WHERE g.township_code = :t AND NOT EXISTS"
    " (SELECT 1 FROM grids c WHERE c.parent_id = g.id) ORDER BY g.code LIMIT 1"
)


def _first(client: TestClient, headers: dict[str, str], path: str, key: str) -> str:
    """The first row's ``key`` of an API list, as this user sees it (scope)."""
    body = client.get(f"/townships/{TOWNSHIP}{path}", headers=headers).json()
    rows = body.get("items", body) if isinstance(body, dict) else body
    return str(rows[0][key]) if rows else "none"


def pages(client: TestClient, headers: dict[str, str], grid: str) -> list[str]:
    """The pages of the workbench, with ids in the user's scope."""
    household = _first(client, headers, "/coverage/uncovered?limit=1", "household")
    cadre = _first(client, headers, "/coverage/uncovered?limit=1", "cadre")
    dispute = _first(client, headers, "/disputes?limit=1", "id")
    hazard = _first(client, headers, "/hazards?limit=1", "code")
    return [
        W,
        f"{W}/uncovered",
        f"{W}/households/{household}",
        f"{W}/cadres/{cadre}",
        f"{W}/visit",
        f"{W}/search?q=1",
        f"{W}/disputes",
        f"{W}/disputes/{dispute}",
        f"{W}/demands",
        f"{W}/hazards",
        f"{W}/hazards/{hazard}",
        f"{W}/hazards/{hazard}/warn",
        f"/townships/{TOWNSHIP}/maps/coverage?basemap=none&grid={grid}",
        f"/townships/{TOWNSHIP}/maps/coverage?basemap=none",
    ]


def run(
    size: int, reps: int, *, reuse: str | None = None, keep: bool = False,
    only: str = "",
) -> None:  # fmt: skip
    """Load the demo at ``size`` (or ``reuse`` a kept database) and time the pages."""
    url = make_url(reuse) if reuse else migrated_database(make_url(database_url()))
    target = 300.0 if size <= 12_800 else 1000.0
    try:
        engine = make_engine(url.render_as_string(hide_password=False))
        started = time.perf_counter()
        with Session(engine) as session:
            if not reuse:
                load_demo(session, households=size)
                demo_users(session, township=TOWNSHIP)
                session.commit()
            grid = session.execute(_GRID, {"t": TOWNSHIP}).scalar_one()
            ids = dict(
                session.execute(
                    text("SELECT username, id FROM users WHERE username LIKE 'demo-%'")
                ).all()
            )
        print(f"\n{size} households loaded in {time.perf_counter() - started:.0f} s")
        settings = Settings(
            database_url=url.render_as_string(hide_password=False),
            auth=AuthSettings(secret="bench-" + "k" * 40),
        )
        app = create_app(settings)
        app.state.engine = engine
        missed = 0
        with TestClient(app) as client:
            for user in ("demo-admin", "demo-leader", "demo-cadre"):
                token = tokens.issue(
                    settings, user_id=ids[user], version=0, kind="access"
                )[0]
                headers = {
                    "Authorization": f"Bearer {token}",
                    "Accept": "text/html",
                }
                print(f"  {user:<12} {'page':<58} {'p50':>7} {'p95':>7}  target")
                for path in pages(client, headers, grid):
                    if only not in path:
                        continue
                    first = client.get(path, headers=headers, follow_redirects=False)
                    if first.status_code == 403:  # not in this role's nav
                        continue
                    if first.status_code != 200:
                        print(f"  {user:<12} {path:<58} status {first.status_code}")
                        continue
                    times = []
                    for _ in range(reps):
                        began = time.perf_counter()
                        client.get(path, headers=headers)
                        times.append((time.perf_counter() - began) * 1000)
                    p50 = statistics.median(times)
                    p95 = (
                        statistics.quantiles(times, n=20)[-1] if reps > 1 else times[0]
                    )
                    ok = p95 <= target
                    missed += not ok
                    print(
                        f"  {user:<12} {path:<58} {p50:6.0f}ms {p95:6.0f}ms  "
                        f"≤{target:.0f} {'ok' if ok else 'MISSED'}"
                    )
        print(f"{size}: {missed} page(s) over {target:.0f} ms at p95")
        engine.dispose()
    finally:
        if keep or reuse:
            print(f"kept: {url.render_as_string(hide_password=False)}")
        else:
            drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="12800")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", help="a kept database's URL (no loading)")
    parser.add_argument("--only", default="", help="only paths containing this")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, args.reps, reuse=args.reuse, keep=args.keep, only=args.only)


if __name__ == "__main__":
    main()
