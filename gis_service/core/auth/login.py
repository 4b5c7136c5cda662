"""The service's two logins: the owner's (schema, DDL, CLI) and ``gridgis_service``.

Requests run on an engine that logs in as ``gridgis_service`` (migration 0140):
it owns nothing and reads nothing until a transaction takes its user's scope
role, so a query outside a scoped transaction, or after ``RESET ROLE``, sees no
township data. ``GRIDGIS_DATABASE_URL`` stays the owner's (migrations, the CLI,
the demo, start-up checks, the idempotency ledger, job workers);
``GRIDGIS_SERVICE_DATABASE_URL`` names the request login, and when it is unset
it is derived from the owner's URL: over the Unix socket the same socket (peer:
the embedded cluster maps its OS users to the login), over TCP scram-sha-256
with a generated password kept 0600 beside the other secrets.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import URL, Engine, make_url

from gis_service.core.auth.gdal import generated_password
from gis_service.core.auth.tokens import secret_file
from gis_service.core.embedded import EmbeddedCluster
from gis_service.core.settings import Settings

SERVICE_LOGIN = "gridgis_service"


def _over_socket(url: URL) -> bool:
    host = url.host or url.query.get("host")
    if isinstance(host, tuple):  # a repeated query parameter: the first
        host = host[0] if host else None
    return not host or str(host).startswith("/")


def password_file(settings: Settings) -> Path:
    """Where the login's generated TCP password is kept (0600)."""
    if settings.database_url:
        return secret_file(settings).with_name(f"{SERVICE_LOGIN}.password")
    return EmbeddedCluster(settings.embedded).root / f"{SERVICE_LOGIN}.password"


def service_database_url(settings: Settings, owner_url: str) -> str:
    """The request engine's URL: the configured one, else derived from the owner's."""
    if settings.service_database_url:
        return settings.service_database_url
    url = make_url(owner_url)
    password = None
    if not _over_socket(url):
        password = generated_password(password_file(settings))
    return url.set(username=SERVICE_LOGIN, password=password).render_as_string(
        hide_password=False
    )


def prepare_service_login(owner: Engine, settings: Settings, service_url: str) -> None:
    """Give a derived TCP login its password (the owner sets it); else nothing."""
    url = make_url(service_url)
    if settings.service_database_url or url.password is None:
        return
    password = str(url.password)
    with owner.begin() as conn:
        conn.exec_driver_sql("SET LOCAL password_encryption = 'scram-sha-256'")
        # DDL takes no bound parameters; the password is token_urlsafe
        conn.exec_driver_sql(f"ALTER ROLE {SERVICE_LOGIN} LOGIN PASSWORD '{password}'")
