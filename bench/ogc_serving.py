"""OGC API serving: GridGIS /ogc against tipg over the same PostGIS tables.

Items/s for a 1 000-feature page of households and tiles/s over z12-z16 tiles of
the township, from this (second) process at 1, 8 and 32 concurrent clients; each
server is one uvicorn process. GridGIS serves its scoped collection
(``{township}.households``: township filter, personal data masked, numberMatched
counted); tipg serves the raw table ``public.households``.

tipg is a peer, not a dependency: it is installed into its own virtualenv
(``--tipg-venv``, created with pip on first use), never into GridGIS's.

    PYTHONPATH=. .venv/bin/python bench/ogc_serving.py [--households 5000]
        [--seconds 5] [--rounds 3] [--server-url postgresql+psycopg2://...]

On the shared test cluster (a Unix socket in ``?host=``), pass its URL as
``--server-url`` or ``GRIDGIS_TEST_DATABASE_URL``; tipg reaches it through the
socket too. Each workload runs ``--rounds`` times, the servers alternating.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import morecantile
from alembic.config import Config
from sqlalchemy import make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from alembic import command
from gis_service.app.demo.load import load_demo
from gis_service.core.db import make_engine
from gis_service.core.embedded import EmbeddedCluster
from gis_service.core.settings import EmbeddedSettings

ROOT = Path(__file__).resolve().parent.parent
DEMO = "620623101000"
CONCURRENCY = (1, 8, 32)
ZOOMS = range(12, 17)


def server_url(arg: str | None) -> URL:
    """The PostgreSQL server to make the bench database on."""
    url = arg or os.environ.get("GRIDGIS_TEST_DATABASE_URL")
    if not url:
        cluster = EmbeddedCluster(EmbeddedSettings(database="postgres"))
        cluster.start()
        url = cluster.url()
    return make_url(url)


def fresh_database(server: URL, households: int) -> URL:
    """A migrated database holding the demo township with ``households``."""
    url = server.set(database="gridgis_bench_ogc")
    admin = make_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.attributes["url"] = url.render_as_string(hide_password=False)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    engine = make_engine(url.render_as_string(hide_password=False))
    with Session(engine) as session:
        load_demo(session, households=households)
        session.execute(text("ANALYZE"))
        session.commit()
    engine.dispose()
    return url


BENCH_SECRET = "gridgis-bench-signing-key-not-for-production-0123456789"


def sign_in(url: URL) -> tuple[dict[str, str], dict[str, str]]:
    """Server env and request headers for a grid leader of the whole township.

    With sign-in (the access work) every /ogc request runs under the leader's
    row-level security, so the numbers are with role scoping on; before it,
    nothing to do.
    """
    try:
        from gis_service.core.auth import tokens
        from gis_service.core.auth.users import add_user
        from gis_service.core.settings import AuthSettings, Settings
    except ImportError:
        return {}, {}
    engine = make_engine(url.render_as_string(hide_password=False))
    with Session(engine) as session:
        root = session.execute(
            text("SELECT code FROM grids WHERE township_code = :t AND parent_id IS NULL"
                 " ORDER BY code LIMIT 1"), {"t": DEMO},
        ).scalar_one()  # fmt: skip
        add_user(
            session, username="bench-leader", password=os.urandom(16).hex(),
            role="grid_leader", township=DEMO, grid=root,
        )  # fmt: skip
        user = session.execute(
            text("SELECT id, token_version FROM users WHERE username = 'bench-leader'")
        ).one()
    engine.dispose()
    settings = Settings(database_url="postgresql://unused",
                        auth=AuthSettings(secret=BENCH_SECRET))  # fmt: skip
    token, _ = tokens.issue(
        settings, user_id=user.id, version=user.token_version, kind="access"
    )
    return {"GRIDGIS_AUTH__SECRET": BENCH_SECRET}, {"Authorization": f"Bearer {token}"}


def tipg_python(venv: Path) -> Path:
    """tipg's interpreter, installing tipg into its own venv when missing."""
    python = venv / "bin" / "python"
    if not (venv / "bin" / "tipg-installed").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "tipg", "uvicorn"], check=True
        )
        (venv / "bin" / "tipg-installed").touch()
    return python


def start(
    argv: list[str], env: dict[str, str], probe: str, headers: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start a server process and wait until ``probe`` answers 200."""
    try:
        httpx.get(probe, timeout=2)
    except httpx.HTTPError:
        pass
    else:  # a leftover server would be measured instead of this one
        raise RuntimeError(f"{probe} already answers: stop that server first")
    proc = subprocess.Popen(
        argv, env={**os.environ, **env}, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"{argv[2:5]} exited: {err[-2000:]}")
        try:
            if httpx.get(probe, headers=headers, timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError(f"{probe} did not answer within 120 s")


async def _hammer(
    urls: list[str], clients: int, seconds: float, count: Any, headers: dict[str, str]
) -> tuple[int, int]:
    """Requests and units (features or tiles) done by ``clients`` in ``seconds``."""
    done = [0, 0]
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients)

    async def worker(start_at: int) -> None:
        i = start_at
        async with httpx.AsyncClient(
            timeout=120, limits=limits, headers=headers
        ) as client:
            while time.monotonic() < stop:
                response = await client.get(urls[i % len(urls)])
                if response.status_code not in (200, 204):
                    raise RuntimeError(f"{response.status_code} {response.text[:300]}")
                done[0] += 1
                done[1] += count(response)
                i += clients

    started = time.monotonic()
    await asyncio.gather(*(worker(k) for k in range(clients)))
    elapsed = time.monotonic() - started
    return int(done[0] / elapsed), int(done[1] / elapsed)


def rate(
    urls: list[str], clients: int, seconds: float, count: Any, headers: dict[str, str]
) -> tuple[int, int]:
    """Requests/s and units/s (after a short warm-up)."""
    asyncio.run(_hammer(urls, min(clients, 2), 1.0, count, headers))
    return asyncio.run(_hammer(urls, clients, seconds, count, headers))


def tile_urls(template: str, bbox: tuple[float, ...]) -> list[str]:
    """Every z12-z16 tile over the township's households (capped per zoom)."""
    tms = morecantile.tms.get("WebMercatorQuad")
    urls = []
    for z in ZOOMS:
        tiles = list(tms.tiles(*bbox, zooms=[z]))[:200]
        urls += [template.format(z=t.z, x=t.x, y=t.y) for t in tiles]
    return urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3, help="alternations")
    parser.add_argument("--server-url")
    parser.add_argument("--tipg-venv", type=Path, default=ROOT / "bench" / ".tipg-venv")
    args = parser.parse_args()

    url = fresh_database(server_url(args.server_url), args.households)
    auth_env, auth = sign_in(url)
    print("GridGIS requests run as:", "a grid leader (RLS on)" if auth else "anyone")
    sqlalchemy_url = url.render_as_string(hide_password=False)
    # tipg (asyncpg through pydantic) wants a host in the URL: a Unix socket
    # directory (the test cluster's ?host=) goes there percent-encoded, which
    # both read as the socket; else TCP.
    socket_dir = url.query.get("host")
    host = quote(str(socket_dir), safe="") if socket_dir else url.host or "127.0.0.1"
    port = url.port or url.query.get("port", 5432)
    password = f":{url.password}" if url.password else ""
    asyncpg_url = f"postgresql://{url.username}{password}@{host}:{port}/{url.database}"
    gport, tport = 18931, 18932
    ours = start(
        [sys.executable, "-m", "uvicorn", "--factory",
         "gis_service.app.main:create_app", "--port", str(gport),
         "--log-level", "warning"],
        {"GRIDGIS_DATABASE_URL": sqlalchemy_url, **auth_env},
        f"http://127.0.0.1:{gport}/ogc/",
        auth,
    )  # fmt: skip
    try:
        peer = start(
            [str(tipg_python(args.tipg_venv)), "-m", "uvicorn", "tipg.main:app",
             "--port", str(tport), "--log-level", "warning"],
            {"DATABASE_URL": asyncpg_url, "TIPG_DB_SCHEMAS": '["public"]',
             "TIPG_MAX_FEATURES_PER_QUERY": "10000"},
            f"http://127.0.0.1:{tport}/collections",
            {},
        )  # fmt: skip
    except BaseException:
        ours.terminate()
        raise
    try:
        first = httpx.get(
            f"http://127.0.0.1:{gport}/ogc/collections/{DEMO}.households",
            headers=auth,
        ).json()
        bbox = tuple(first["extent"]["spatial"]["bbox"][0])
        servers = {
            "gridgis": (
                f"http://127.0.0.1:{gport}/ogc/collections/{DEMO}.households/items"
                "?limit=1000",
                f"http://127.0.0.1:{gport}/ogc/tiles/{DEMO}.households/{{z}}/{{x}}/{{y}}.pbf",
            ),
            "tipg": (
                f"http://127.0.0.1:{tport}/collections/public.households/items"
                "?limit=1000",
                f"http://127.0.0.1:{tport}/collections/public.households/tiles/"
                "WebMercatorQuad/{z}/{x}/{y}",
            ),
        }
        headers = {"gridgis": auth, "tipg": {}}
        for name, (items, _) in servers.items():
            body = httpx.get(items, headers=headers[name], timeout=60).json()
            print(f"{name}: one page = {len(body['features'])} features")
        # Rounds alternate the two servers (gridgis, tipg, gridgis, ...) so a
        # change of load on a shared machine hits both; the median is reported.
        results: dict[tuple[str, str, int], list[int]] = {}
        print(f"load average before: {os.getloadavg()}")
        for clients in CONCURRENCY:
            for _ in range(args.rounds):
                for name, (items, tiles) in servers.items():
                    _, per_s = rate(
                        [items], clients, args.seconds,
                        lambda r: len(r.json()["features"]), headers[name],
                    )  # fmt: skip
                    results.setdefault(("items", name, clients), []).append(per_s)
                    urls = tile_urls(tiles, bbox)
                    per_s, _ = rate(
                        urls, clients, args.seconds, lambda r: 1, headers[name]
                    )
                    results.setdefault(("tiles", name, clients), []).append(per_s)
        print(f"load average after: {os.getloadavg()}")
        print(f"\n{'workload':<28}{'gridgis':>10}{'tipg':>10}{'ratio':>8}  rounds")
        for what, unit in (("items", "features/s (1000/page)"),
                           ("tiles", "tiles/s z12-z16")):  # fmt: skip
            for clients in CONCURRENCY:
                ours_runs = results[(what, "gridgis", clients)]
                peer_runs = results[(what, "tipg", clients)]
                ours_rate = int(statistics.median(ours_runs))
                peer_rate = int(statistics.median(peer_runs))
                ratio = ours_rate / peer_rate if peer_rate else float("inf")
                label = f"{unit} c={clients}"
                print(
                    f"{label:<28}{ours_rate:>10}{peer_rate:>10}{ratio:>8.2f}  "
                    f"{ours_runs} / {peer_runs}"
                )
    finally:
        for proc in (ours, peer):
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
