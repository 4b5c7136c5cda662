"""Row-level security: p95 latency of the main lists and the coverage map with
RLS on (the request logs in as ``gridgis_service``, as the app does, and runs
as its user's scope role under the policies) against RLS off (the same request,
same user and settings, on the owner's login with the role left as it logged
in), on the demo township at 12 800 (and 100 000) households. Target: at most
20 % slower. A third column, "owner+role", is the path before migration 0140:
the owner's login taking the scope role, so the service login's own cost shows.

Requests go through the whole app in process (TestClient), alternating on/off,
as the township's admin and as a grid leader of one top-level grid.

    PYTHONPATH=. .venv/bin/python bench/rls.py [--sizes 12800,100000] [--reps 30]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

from alembic import command
from gis_service.app.demo.load import load_demo
from gis_service.app.main import create_app
from gis_service.core.auth import scope, tokens
from gis_service.core.auth.users import add_user
from gis_service.core.cli import database_url
from gis_service.core.db import make_engine
from gis_service.core.settings import AuthSettings, Settings
from tests.conftest import alembic_config

TOWNSHIP = "620623101000"
PATHS = {
    "households list (100)": "/layers/households/items?limit=100",
    "households list (1000, filtered)": "/layers/households/items?limit=1000&tag=低保",
    "visits": "/visits?limit=200",
    "demands": "/demands",
    "coverage by grid": "/coverage/grids",
    "coverage map": "/maps/coverage?basemap=none",
}


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def measure(call: Callable[[], int], reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        status = call()
        times.append(time.perf_counter() - started)
        assert status == 200, status
    return times


def run(size: int, reps: int) -> None:
    server = make_url(database_url())
    name = f"gridgis_bench_rls_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name)
    try:
        command.upgrade(alembic_config(url), "head")
        engine = make_engine(url.render_as_string(hide_password=False))
        started = time.perf_counter()
        with Session(engine) as session:
            load_demo(session, households=size)
            top = session.execute(
                text(
                    "SELECT code FROM grids WHERE township_code = :t AND depth = 1 "
                    "ORDER BY code LIMIT 1"
                ),
                {"t": TOWNSHIP},
            ).scalar_one()
            ids = {
                "admin": add_user(
                    session, username="b-admin", password="x" * 12, role="admin",
                    township=TOWNSHIP,
                )["id"],
                "grid leader": add_user(
                    session, username="b-leader", password="x" * 12,
                    role="grid_leader", township=TOWNSHIP, grid=top,
                )["id"],
            }  # fmt: skip
            session.execute(text("ANALYZE"))
            session.commit()
        print(f"\n{size} households loaded in {time.perf_counter() - started:.0f} s")
        settings = Settings(
            database_url=url.render_as_string(hide_password=False),
            auth=AuthSettings(secret="bench-" + "k" * 40),
        )
        app = create_app(settings)  # requests log in as gridgis_service
        owner_role = scope._role
        with TestClient(app) as client:
            service = app.state.engine
            for who, uid in ids.items():
                token = tokens.issue(settings, user_id=uid, version=0, kind="access")[0]
                headers = {"Authorization": f"Bearer {token}"}
                print(
                    f"  {who:<12} {'request':<34} {'off p95':>9} {'owner+role':>10}"
                    f" {'on p95':>9} ratio  on/owner+role (median)"
                )
                for label, path in PATHS.items():
                    url_ = f"/townships/{TOWNSHIP}{path}"

                    def call(url_: str = url_, headers: dict = headers) -> int:
                        return client.get(url_, headers=headers).status_code

                    call()  # warm
                    on: list[float] = []
                    off: list[float] = []
                    old: list[float] = []
                    for _ in range(reps // 5):
                        app.state.engine = engine  # the owner's login, no role
                        scope._role = lambda _s: "none"  # type: ignore[assignment]
                        off += measure(call, 5)
                        scope._role = owner_role  # type: ignore[assignment]
                        old += measure(call, 5)  # the owner's login, scope role
                        app.state.engine = service
                        on += measure(call, 5)
                    a, o, b = (p95(x) * 1000 for x in (off, old, on))
                    median = statistics.median(on) / statistics.median(old)
                    print(
                        f"  {who:<12} {label:<34} {a:8.1f}ms {o:8.1f}ms"
                        f" {b:8.1f}ms {b / a:5.2f}  {median:5.2f}"
                    )
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="12800")
    parser.add_argument("--reps", type=int, default=30)
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, args.reps)


if __name__ == "__main__":
    main()
