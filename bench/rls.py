"""Row-level security: p50 and p95 latency of the main lists and the coverage map
with RLS on (the request logs in as ``gridgis_service``, as the app does, and runs
as its user's scope role under the policies) against RLS off (the same request,
same user and settings, on the owner's login with the role left as it logged
in), on the demo township at 12 800 (and 100 000) households. Target: at most
20 % slower. ``--owner-arm`` adds a third arm, the path before migration 0140
(the owner's login taking the scope role), so the service login's own cost shows.

Requests go through the whole app in process (TestClient), the arms taking turns
in blocks of 5, as the township's admin, a grid leader of one top-level grid and
(``--roles``) the busiest cadre. On a loaded machine one arm's p95 varies 2x
between runs: ``--rounds`` repeats the alternation and reports the median of
each figure and of each round's ratios (with the p95 ratio's range).

    PYTHONPATH=. .venv/bin/python bench/rls.py [--sizes 12800,100000] [--reps 30]
        [--rounds 3] [--roles admin,grid_leader,cadre] [--owner-arm]
        [--keep | --reuse URL] [--only TEXT]

``--keep`` leaves the loaded database (its URL is printed) and ``--reuse URL``
measures a kept one without loading (it is upgraded to head first, so a kept
database measures a new migration before and after on the same rows).
``--only`` keeps the requests whose label contains the text.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, make_url, text
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
ROLES = ("admin", "grid_leader")  # --roles admin,grid_leader,leaf_leader,cadre
PATHS = {
    "households list (100)": "/layers/households/items?limit=100",
    "households list (1000, filtered)": "/layers/households/items?limit=1000&tag=低保",
    "visits": "/visits?limit=200",
    "demands": "/demands",
    "coverage by grid": "/coverage/grids",
    "coverage map": "/maps/coverage?basemap=none",
    "disputes (100)": "/disputes?limit=100",
}
# A grid leader's coverage pages: the on arm asks as the leader does (the
# workbench's link names no grid; the policies narrow it to the subtree), the off
# arm has no policy to narrow it and names the leader's grid (?grid=) for the
# same page; without it the off arm drew the whole township (over the label
# limit: another page, with no labels). The JSON of both is checked equal.
BY_GRID = ("coverage by grid", "coverage map")
TIMES = {"since", "until"}


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


# per round: (off p50, on p50, off p95, on p95, on/owner+role median) in ms
Figures = tuple[float, float, float, float, float | None]


def alternate(
    call: Callable[[], int],
    reps: int,
    arms: dict[str, Callable[[], None]],
) -> dict[str, list[float]]:
    """``reps`` timings per arm, in blocks of 5 that take turns (load hits all)."""
    times: dict[str, list[float]] = {arm: [] for arm in arms}
    for _ in range(max(1, reps // 5)):
        for arm, switch in arms.items():
            switch()
            times[arm] += measure(call, 5)
    return times


def report(who: str, label: str, rounds: list[Figures]) -> None:
    """The median over rounds of each figure, and of each round's ratios."""
    med = statistics.median
    p50 = med(r[1] / r[0] for r in rounds)
    p95_ = med(r[3] / r[2] for r in rounds)
    spread = ""
    if len(rounds) > 1:
        ratios = [r[3] / r[2] for r in rounds]
        spread = f" [{min(ratios):.2f}-{max(ratios):.2f}]"
    owner = [r[4] for r in rounds if r[4] is not None]
    print(
        f"  {who:<12} {label:<34}"
        f" {med(r[0] for r in rounds):7.1f} {med(r[1] for r in rounds):7.1f} {p50:5.2f}"
        f" {med(r[2] for r in rounds):7.1f} {med(r[3] for r in rounds):7.1f}"
        f" {p95_:5.2f}{spread}" + (f"  {med(owner):5.2f}" if owner else ""),
        flush=True,
    )


def _user(session: Session, role: str) -> tuple[int, str | None]:
    """A user of ``role`` and the grid code a grid leader's scope starts at.

    ``grid_leader``: of the first top-level grid; ``leaf_leader``: of the first grid
    with no children; ``cadre``: the busiest.
    """
    found = {
        "grid_leader": "SELECT 'grid', code FROM grids WHERE township_code = :t "
        "AND depth = 1 ORDER BY code LIMIT 1",
        "leaf_leader": "SELECT 'grid', g.code FROM grids g WHERE g.township_code = :t"
        " AND NOT EXISTS (SELECT 1 FROM grids c WHERE c.township_code = g.township_code"
        " AND c.parent_id = g.id) ORDER BY g.code LIMIT 1",
        "cadre": "SELECT 'cadre', c.code FROM household_assignments a JOIN cadres c "
        "ON c.township_code = a.township_code AND c.id = a.cadre_id "
        "WHERE a.township_code = :t GROUP BY c.code ORDER BY count(*) DESC, c.code "
        "LIMIT 1",
    }
    username = f"b-{role}"
    kept = session.execute(
        text("SELECT id, grid_code FROM users WHERE username = :u"), {"u": username}
    ).first()
    if kept is not None:  # a reused database
        return int(kept.id), kept.grid_code
    where: dict[str, str] = {}
    if role in found:
        key, code = session.execute(text(found[role]), {"t": TOWNSHIP}).one()
        where[key] = code
    user = add_user(
        session, username=username, password="x" * 12,
        role="grid_leader" if role == "leaf_leader" else role,
        township=TOWNSHIP, **where,
    )  # fmt: skip
    return int(user["id"]), where.get("grid")


def run(
    size: int,
    reps: int,
    *,
    rounds: int = 1,
    roles: tuple[str, ...] = ROLES,
    owner_arm: bool = False,
    keep: bool = False,
    reuse: str | None = None,
    only: str = "",
) -> None:
    if reuse:
        url = make_url(reuse)
        name = str(url.database)
    else:
        server = make_url(database_url())
        name = f"gridgis_bench_rls_{uuid.uuid4().hex[:8]}"
        url = server.set(database=name)
    admin = make_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    if not reuse:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        command.upgrade(alembic_config(url), "head")
        engine = make_engine(url.render_as_string(hide_password=False))
        started = time.perf_counter()
        with Session(engine) as session:
            if not reuse:
                load_demo(session, households=size)
            ids = {role: _user(session, role) for role in roles}
            session.execute(text("ANALYZE"))
            session.commit()
        counted = session_count(engine)
        print(f"\n{counted} households ready in {time.perf_counter() - started:.0f} s")
        settings = Settings(
            database_url=url.render_as_string(hide_password=False),
            auth=AuthSettings(secret="bench-" + "k" * 40),
        )
        app = create_app(settings)  # requests log in as gridgis_service
        owner_role = scope._role
        with TestClient(app) as client:
            service = app.state.engine

            arm = {"off": False}

            def off() -> None:  # the owner's login, no role: no RLS
                app.state.engine = engine
                scope._role = lambda _s: "none"  # type: ignore[assignment]
                arm["off"] = True

            def owner() -> None:  # the owner's login taking the scope role
                app.state.engine = engine
                scope._role = owner_role  # type: ignore[assignment]
                arm["off"] = False

            def on() -> None:  # the service login, as the app runs
                app.state.engine = service
                scope._role = owner_role  # type: ignore[assignment]
                arm["off"] = False

            arms = {"off": off, "on": on} | ({"owner": owner} if owner_arm else {})
            print(
                f"  {'role':<12} {'request':<34} {'p50 off':>7} {'on':>7} {'ratio':>5}"
                f" {'p95 off':>7} {'on':>7} {'ratio':>5}"
                + (" [min-max of rounds]" if rounds > 1 else "")
                + ("  on/owner+role p50" if owner_arm else "")
                + "   (ms; medians over rounds)"
            )
            for who, (uid, grid) in ids.items():
                token = tokens.issue(settings, user_id=uid, version=0, kind="access")[0]
                headers = {"Authorization": f"Bearer {token}"}
                for label, path in PATHS.items():
                    if only not in label:
                        continue
                    url_ = f"/townships/{TOWNSHIP}{path}"
                    narrowed = url_
                    if grid and label in BY_GRID:  # the off arm: the same page
                        narrowed += ("&" if "?" in url_ else "?") + f"grid={grid}"

                    def call(
                        url_: str = url_, narrowed: str = narrowed, head: dict = headers
                    ) -> int:
                        asked = narrowed if arm["off"] else url_
                        return client.get(asked, headers=head).status_code

                    if narrowed != url_ and "maps" not in path:
                        seen = []
                        for switch in (off, on):
                            switch()
                            response = client.get(
                                narrowed if arm["off"] else url_, headers=headers
                            )
                            body = response.json()  # but the times (now)
                            seen.append({k: body[k] for k in body.keys() - TIMES})
                        assert seen[0] == seen[1], "the arms answered differently"

                    for switch in arms.values():
                        switch()
                        call()  # warm each arm's pool and plans
                    figures: list[Figures] = []
                    for _ in range(rounds):
                        t = {k: [x * 1000 for x in v] for k, v in alternate(
                            call, reps, arms).items()}  # fmt: skip
                        med = statistics.median
                        figures.append((
                            med(t["off"]), med(t["on"]), p95(t["off"]), p95(t["on"]),
                            med(t["on"]) / med(t["owner"]) if owner_arm else None,
                        ))  # fmt: skip
                    report(who, label, figures)
        engine.dispose()
    finally:
        if keep or reuse:
            print(f"kept: {url.render_as_string(hide_password=False)}", flush=True)
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def session_count(engine: Engine) -> int:
    """The demo township's households (a reused database's size)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM households WHERE township_code = :t"),
                {"t": TOWNSHIP},
            ).scalar_one()
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="12800")
    parser.add_argument("--reps", type=int, default=30, help="per arm and round")
    parser.add_argument("--rounds", type=int, default=1, help="medians over rounds")
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument(
        "--owner-arm", action="store_true", help="also the owner's login + scope role"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", help="a kept database's URL (no loading)")
    parser.add_argument("--only", default="", help="only requests whose label has it")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        run(
            size, args.reps, rounds=args.rounds, roles=tuple(args.roles.split(",")),
            owner_arm=args.owner_arm, keep=args.keep, reuse=args.reuse,
            only=args.only,
        )  # fmt: skip


if __name__ == "__main__":
    main()
