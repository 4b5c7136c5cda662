"""The embedded default: a private PostgreSQL+PostGIS cluster GridGIS runs itself.

initdb + pg_ctl under a data directory, listening on a Unix socket there and on one
loopback port (so QGIS or ogrinfo can connect too). PostgreSQL refuses to run as
root, so as root every server command runs as the ``postgres`` OS user.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from gis_service.core.errors import GridGISError
from gis_service.core.settings import EmbeddedSettings

PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


class EmbeddedClusterError(GridGISError):
    """The embedded cluster could not be created, started or stopped."""

    status = 503
    title = "Embedded database unavailable"


class NoSchema(GridGISError):
    """The database has no GridGIS tables yet (or there is no database at all)."""

    status = 503
    title = "Database not set up"


NO_SCHEMA = "no GridGIS schema here: run `gridgis db upgrade`"


@dataclass(frozen=True)
class ClusterStatus:
    """What ``gridgis db status`` reports."""

    data_dir: str
    initialised: bool
    running: bool
    answering: bool
    port: int | None
    url: str | None


def _pg_bin(name: str) -> str:
    """Find a PostgreSQL server binary (Debian keeps them off PATH)."""
    for directory in PG_BIN_CANDIDATES:
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if found:
        return found
    raise EmbeddedClusterError(
        f"'{name}' not found: install PostgreSQL and PostGIS "
        "(Debian: apt-get install postgresql-15-postgis-3) or set GRIDGIS_DATABASE_URL"
    )


def _as_server_user(cmd: list[str]) -> list[str]:
    """Prefix a command so it runs as ``postgres`` when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _run(cmd: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _as_server_user(cmd), capture_output=True, text=True, input=stdin
    )


# Peer on the socket (only the OS users pg_ident.conf maps, as ``postgres`` or
# as the service's login ``gridgis_service``), scram-sha-256 on TCP (QGIS,
# ogrinfo: the password in the data dir, or the read-only role of
# ``gridgis db url --gdal``).
HBA = """# GridGIS: written by gis_service.core.embedded
local   all          all                    peer map=gridgis
local   replication  all                    peer map=gridgis
host    all          all   127.0.0.1/32     scram-sha-256
host    all          all   ::1/128          scram-sha-256
host    replication  all   127.0.0.1/32     scram-sha-256
"""


# The roles pg_ident.conf lets a mapped OS user log in as over the socket: the
# owner (migrations, the CLI) and the service's own login (requests).
SOCKET_ROLES = ("postgres", "gridgis_service")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedCluster:
    """One private cluster under ``settings.data_dir``."""

    def __init__(self, settings: EmbeddedSettings) -> None:
        self.settings = settings
        self.root = settings.data_dir.resolve()
        self.pgdata = self.root / "pgdata"
        self.socket_dir = self.root / "run"
        self.meta_file = self.root / "cluster.json"
        self.log_file = self.root / "postgres.log"
        self.password_file = self.root / "postgres.password"

    # -- state -----------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        """Whether initdb has run here."""
        return (self.pgdata / "PG_VERSION").exists()

    @property
    def port(self) -> int | None:
        """The loopback port chosen at first start."""
        if self.settings.port:
            return self.settings.port
        if self.meta_file.exists():
            return int(json.loads(self.meta_file.read_text())["port"])
        return None

    def running(self) -> bool:
        """Ask pg_ctl whether the server is up."""
        if not self.initialised:
            return False
        return (
            _run([_pg_bin("pg_ctl"), "status", "-D", str(self.pgdata)]).returncode == 0
        )

    def answering(self) -> bool:
        """Whether the server accepts connections.

        pg_ctl says "running" for a postmaster killed with SIGKILL whose zombie
        nobody has reaped; only an answer counts.
        """
        if not (self.initialised and self.port):
            return False
        ready = [_pg_bin("pg_isready"), "-q", "-t", "3", "-h", str(self.socket_dir)]
        return _run([*ready, "-p", str(self.port)]).returncode == 0

    def _clear_dead_postmaster(self) -> None:
        """Remove postmaster.pid when its process is gone or a zombie (a crash)."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        stat = Path(f"/proc/{pid}/stat")
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            state = "gone"
        if state in ("gone", "Z", "X"):
            pid_file.unlink(missing_ok=True)

    def url(self) -> str:
        """SQLAlchemy URL over the Unix socket."""
        return (
            f"postgresql+psycopg2://postgres@/{self.settings.database}"
            f"?host={self.socket_dir}&port={self.port}"
        )

    def status(self) -> ClusterStatus:
        """Summarise the cluster for the CLI."""
        return ClusterStatus(
            data_dir=str(self.root),
            initialised=self.initialised,
            running=self.running(),
            answering=self.answering(),
            port=self.port,
            url=self.url() if self.port else None,
        )

    # -- actions ---------------------------------------------------------------
    def init(self) -> None:
        """Create the cluster directory and run initdb once."""
        if self.initialised:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        port = self.settings.port or _free_port()
        self.meta_file.write_text(json.dumps({"port": port}))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
            if _run(["test", "-x", str(self.root)]).returncode != 0:
                raise EmbeddedClusterError(
                    f"the postgres OS user cannot enter {self.root}; "
                    "set GRIDGIS_EMBEDDED__DATA_DIR to a directory it can reach"
                )
        result = _run(
            [
                _pg_bin("initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        )
        if result.returncode != 0:
            raise EmbeddedClusterError(f"initdb failed: {result.stderr.strip()[-400:]}")

    def start(self, *, wait_s: float = 60.0) -> ClusterStatus:
        """Create if needed, start if stopped, and make sure the database exists.

        After a crash the old postmaster may linger (a zombie, or its backends
        still holding shared memory): retry until it is gone and the new server
        has run crash recovery, for up to ``wait_s`` seconds.
        """
        self.init()
        deadline = time.monotonic() + wait_s
        # A pid file left behind: a crash, so failures are retried until the
        # old server's processes are gone.
        crashed = (self.pgdata / "postmaster.pid").exists()
        while True:
            try:
                self._start_once()
                return self.status()
            except EmbeddedClusterError:
                if not crashed or time.monotonic() > deadline:
                    raise
                self._clear_dead_postmaster()
                time.sleep(1.0)

    def _start_once(self) -> None:
        if self.running() and not self.answering():
            self._clear_dead_postmaster()
        if not self.running():
            options = (
                f"-k {self.socket_dir} -p {self.port} "
                "-c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
            )
            if os.geteuid() == 0:
                self.log_file.touch()
                shutil.chown(self.log_file, "postgres", "postgres")
            result = _run(
                [
                    _pg_bin("pg_ctl"),
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.log_file),
                    "-o",
                    options,
                ]
            )
            if result.returncode != 0:
                tail = (
                    self.log_file.read_text()[-600:] if self.log_file.exists() else ""
                )
                raise EmbeddedClusterError(
                    f"pg_ctl start failed: {result.stderr.strip()[-300:]} {tail}"
                )
        self._secure()
        self._ensure_database()

    def stop(self) -> ClusterStatus:
        """Stop the server (fast shutdown); the data stays."""
        if self.running():
            result = _run(
                [_pg_bin("pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.pgdata)]
            )
            if result.returncode != 0:
                raise EmbeddedClusterError(
                    f"pg_ctl stop failed: {result.stderr.strip()}"
                )
        return self.status()

    def password(self) -> str:
        """The superuser's generated password (TCP logins), kept 0600 here."""
        if not self.password_file.exists():
            fd = os.open(
                self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
            )
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(24))
        return self.password_file.read_text().strip()

    def _secure(self) -> None:
        """Peer on the socket, scram-sha-256 on TCP (once; older clusters too).

        initdb's ``--auth=trust`` let any local account in as superuser. The peer
        map lets the mapped OS users in as the owner or as the service's login;
        a cluster secured before the service had a login of its own gains it.
        """
        hba = self.pgdata / "pg_hba.conf"
        ident_file = self.pgdata / "pg_ident.conf"
        secured = hba.read_text().startswith(HBA.splitlines()[0])
        mapped = ident_file.read_text() if ident_file.exists() else ""
        if secured and all(f"  {role}\n" in mapped for role in SOCKET_ROLES):
            return
        users = {"postgres", getpass.getuser()}
        users |= {
            words[1]
            for words in (line.split() for line in mapped.splitlines())
            if len(words) == 3 and words[0] == "gridgis"
        }
        ident = "".join(
            f"gridgis  {u}  {role}\n" for u in sorted(users) for role in SOCKET_ROLES
        )
        writes = [(ident_file, ident)]
        if not secured:
            statement = (
                "SET password_encryption = 'scram-sha-256'; "
                f"ALTER ROLE postgres PASSWORD '{self.password()}';"
            )
            result = _run([*self._psql("postgres"), "-f", "-"], stdin=statement)
            if result.returncode != 0:
                raise EmbeddedClusterError(f"cannot set the password: {result.stderr}")
            writes.append((hba, HBA))
        for path, text_ in writes:
            path.write_text(text_)
            if os.geteuid() == 0:
                shutil.chown(path, "postgres", "postgres")
        reload = _run([_pg_bin("pg_ctl"), "reload", "-D", str(self.pgdata)])
        if reload.returncode != 0:
            raise EmbeddedClusterError(f"pg_ctl reload failed: {reload.stderr}")

    def _psql(self, database: str) -> list[str]:
        return [
            _pg_bin("psql"),
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-qtA",
        ]

    def _ensure_database(self) -> None:
        psql = [
            _pg_bin("psql"),
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-tAc",
        ]
        name = self.settings.database
        exists = _run([*psql, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"])
        if exists.returncode != 0:
            raise EmbeddedClusterError(
                f"cannot reach the cluster: {exists.stderr.strip()}"
            )
        if exists.stdout.strip() != "1":
            created = _run([*psql, f'CREATE DATABASE "{name}"'])
            if created.returncode != 0:
                raise EmbeddedClusterError(
                    f"CREATE DATABASE failed: {created.stderr.strip()}"
                )


def resolve_database_url(database_url: str | None, embedded: EmbeddedSettings) -> str:
    """The URL to use: the configured one as is, else the embedded cluster's."""
    if database_url:
        return database_url
    return EmbeddedCluster(embedded).url()
