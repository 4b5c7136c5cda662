"""Load test: the grid leaders' mix against uvicorn, from a client in another process.

Builds a scratch database with a demo township (``--households 12800``, 鄌郚镇
size), starts ``gridgis serve`` (``--workers N``) on 127.0.0.1, and drives it
with an async httpx client: each of ``--users`` concurrent users loops over the
mix (coverage by grid, the uncovered list, one grid's coverage map, a route
plan, the dispute list, a visit write). Reports per endpoint p50/p95/p99 and
errors, and the throughput; a 1-user pass gives the baseline p95 against which
"p95 doubles" is judged.

``--think A,B`` makes each user wait a uniform A..B seconds between requests,
as a person reading a page does (locust's ``between(A, B)``); the default
``0,0`` is a closed loop that measures the server's saturation throughput. The
1-user baseline always runs as a closed loop.

    python bench/load.py [--households 12800] [--users 1,50,200] [--seconds 20]
                         [--workers 1] [--think 0,0] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gis_service.app.demo.load import load_demo  # noqa: E402
from gis_service.core.db import make_engine  # noqa: E402
from tests.conftest import (  # noqa: E402
    TEST_SECRET,
    bearer_for,
    drop_database,
    migrated_database,
)

TOWNSHIP = "620623101000"
BASE = f"/townships/{TOWNSHIP}"
MIX = (  # (name, weight, kind)
    ("coverage", 2, "list"),
    ("uncovered", 2, "list"),
    ("disputes", 2, "list"),
    ("visit write", 2, "list"),
    ("grid map", 1, "map"),
    ("route plan", 1, "map"),
)
TARGET_MS = {"list": 300.0, "map": 1000.0}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pools(url: str) -> dict[str, list[str]]:
    engine = make_engine(url)
    with engine.connect() as conn:

        def codes(sql: str) -> list[str]:
            return [str(c) for c in conn.execute(text(sql), {"t": TOWNSHIP}).scalars()]

        pools = {
            "households": codes("SELECT code FROM households WHERE township_code = :t"),
            "cadres": codes("SELECT code FROM cadres WHERE township_code = :t"),
            "grids": codes(
                "SELECT g.code FROM grids g WHERE g.township_code = :t AND NOT EXISTS"
                " (SELECT 1 FROM grids c WHERE c.parent_id = g.id)"
            ),
        }
    engine.dispose()
    return pools


def _request(name: str, pools: dict[str, list[str]], rng: random.Random) -> Any:
    """(method, path, json body) of one request of the mix."""
    if name == "coverage":
        return "GET", f"{BASE}/coverage/grids", None
    if name == "uncovered":
        return "GET", f"{BASE}/coverage/uncovered?limit=50", None
    if name == "disputes":
        return "GET", f"{BASE}/disputes?limit=50", None
    if name == "grid map":
        return (
            "GET",
            f"{BASE}/maps/coverage?basemap=none&grid={rng.choice(pools['grids'])}",
            None,
        )
    if name == "route plan":
        body = {"cadre": rng.choice(pools["cadres"]), "time_limit_s": 0.5}
        return "POST", f"{BASE}/visit-routes", body
    body = {
        "household": rng.choice(pools["households"]),
        "visited_at": "2025-06-01T10:00:00",
        "purpose": "service",
    }
    return "POST", f"{BASE}/visits", body


async def _user(
    client: httpx.AsyncClient,
    pools: dict[str, list[str]],
    until: float,
    seed: int,
    out: dict[str, list[tuple[float, int]]],
    think: tuple[float, float],
) -> None:
    rng = random.Random(seed)
    names = [n for n, w, _ in MIX for _ in range(w)]
    if think[1] > 0:  # users arrive spread over one think time, not all at once
        await asyncio.sleep(rng.uniform(0, think[1]))
    while time.monotonic() < until:
        name = rng.choice(names)
        method, path, body = _request(name, pools, rng)
        started = time.perf_counter()
        try:
            response = await client.request(method, path, json=body)
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        out[name].append(((time.perf_counter() - started) * 1000, status))
        if think[1] > 0:
            await asyncio.sleep(rng.uniform(*think))


async def _level(
    base_url: str,
    pools: dict[str, list[str]],
    users: int,
    seconds: float,
    headers: dict[str, str],
    think: tuple[float, float] = (0.0, 0.0),
) -> tuple[dict[str, list[tuple[float, int]]], float]:
    out: dict[str, list[tuple[float, int]]] = defaultdict(list)
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(
        base_url=base_url, timeout=60, limits=limits, headers=headers
    ) as client:
        until = time.monotonic() + seconds
        started = time.monotonic()
        await asyncio.gather(
            *(_user(client, pools, until, 1000 + u, out, think) for u in range(users))
        )
        return out, time.monotonic() - started


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _table(
    users: int, out: dict[str, list[tuple[float, int]]], elapsed: float
) -> dict[str, Any]:
    rows = {}
    total = sum(len(v) for v in out.values())
    print(
        f"\n{users} users: {total} requests in {elapsed:.1f} s"
        f" = {total / elapsed:.1f} req/s"
    )
    print(
        f"{'endpoint':<12} {'n':>6} {'err':>5} {'p50':>8} {'p95':>8} {'p99':>8}  target"
    )
    for name, _, kind in MIX:
        samples = out.get(name, [])
        ok = [ms for ms, status in samples if 200 <= status < 300]
        errors = sum(1 for _, status in samples if not 200 <= status < 300)
        p50, p95, p99 = (_pct(ok, q) for q in (50, 95, 99))
        met = "ok" if p95 <= TARGET_MS[kind] and not errors else "MISSED"
        print(
            f"{name:<12} {len(samples):>6} {errors:>5} {p50:>8.0f} {p95:>8.0f} "
            f"{p99:>8.0f}  ≤{TARGET_MS[kind]:.0f} ms {met}"
        )
        codes = sorted({s for _, s in samples if not 200 <= s < 300})
        rows[name] = {
            "n": len(samples),
            "errors": errors,
            "codes": codes,
            "p50": p50,
            "p95": p95,
            "p99": p99,
        }
    return {"users": users, "rps": total / elapsed, "endpoints": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=12800)
    parser.add_argument("--users", default="1,50,200")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--database-url", default=os.environ.get("GRIDGIS_TEST_DATABASE_URL")
    )
    parser.add_argument(
        "--think", default="0,0", help="A,B: seconds between a user's requests"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    low, high = (float(v) for v in args.think.split(","))
    think = (low, high)
    if not args.database_url:
        sys.exit("give --database-url (a server to make a scratch database on)")
    url = migrated_database(make_url(args.database_url))
    plain = url.render_as_string(hide_password=False)
    server = None
    try:
        started = time.perf_counter()
        engine = make_engine(plain)
        with Session(engine) as session:
            load_demo(session, households=args.households)
        headers = bearer_for(engine)  # the township's admin (every request signs in)
        engine.dispose()
        print(
            f"demo township with {args.households} households loaded in "
            f"{time.perf_counter() - started:.1f} s"
        )
        pools = _pools(plain)
        port = _free_port()
        env = {
            **os.environ,
            "GRIDGIS_DATABASE_URL": plain,
            "GRIDGIS_AUTH__SECRET": TEST_SECRET,
            "GRIDGIS_LIMITS__MAX_INFLIGHT": os.environ.get(
                "GRIDGIS_LIMITS__MAX_INFLIGHT", "64"
            ),
        }
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gridgis")),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base_url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit(
                    "the server did not start: "
                    + (server.stderr.read().decode()[-500:] if server.stderr else "")
                )
            time.sleep(0.3)
        asyncio.run(
            _level(base_url, pools, 4, 3.0, headers)
        )  # warm up caches and the pool
        results = []
        for users in (int(u) for u in args.users.split(",")):
            out, elapsed = asyncio.run(
                _level(
                    base_url,
                    pools,
                    users,
                    args.seconds,
                    headers,
                    think if users > 1 else (0.0, 0.0),
                )
            )
            results.append(_table(users, out, elapsed))
        base = results[0]
        for level in results[1:]:
            doubled = [
                name
                for name, row in level["endpoints"].items()
                if row["p95"] > 2 * base["endpoints"][name]["p95"]
            ]
            worse = ", ".join(doubled) or "none"
            print(
                f"{level['users']} users vs {base['users']}: p95 doubled for "
                f"{worse} at {level['rps']:.1f} req/s"
            )
        if args.json:
            args.json.write_text(json.dumps(results, indent=2, default=str))
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        drop_database(url)


if __name__ == "__main__":
    main()
