"""The read-only connection for desktop GIS (QGIS, ogrinfo): masked views only."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import URL, make_url, text
from sqlalchemy.orm import Session

from gis_service.core.auth.tokens import secret_file
from gis_service.core.db import gdal_connection
from gis_service.core.embedded import EmbeddedCluster
from gis_service.core.settings import Settings

READER = "gridgis_reader"


def generated_password(path: Path) -> str:
    """Generated once and kept 0600."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(24))
    return path.read_text().strip()


def reader_connection(session: Session, settings: Settings, url: str) -> str:
    """Let ``gridgis_reader`` log in (password kept 0600) and return GDAL's PG: string.

    It holds no grant on any table: only SELECT on the ``gdal`` schema's views,
    where ID numbers and phones are masked.
    """
    if settings.database_url:
        parsed = make_url(url)
        host, port = parsed.host or "127.0.0.1", parsed.port or 5432
        database = parsed.database or "gridgis"
        path = secret_file(settings).with_name(f"{READER}.password")
    else:
        cluster = EmbeddedCluster(settings.embedded)
        host, port = "127.0.0.1", cluster.port or 5432
        database = settings.embedded.database
        path = cluster.root / f"{READER}.password"
    password = generated_password(path)
    session.execute(text("SET LOCAL password_encryption = 'scram-sha-256'"))
    # a DDL statement takes no bound parameters; the password is token_urlsafe
    session.execute(text(f"ALTER ROLE {READER} LOGIN PASSWORD '{password}'"))
    session.commit()
    reader = URL.create(
        "postgresql",
        username=READER,
        password=password,
        host=host,
        port=port,
        database=database,
    )
    return gdal_connection(reader.render_as_string(hide_password=False))
