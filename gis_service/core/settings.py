"""Settings from the environment (prefix ``GRIDGIS_``), split by concern."""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from platformdirs import user_data_dir
from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gis_service.core.inputs import DEFAULT_TIMEZONE

# Where this installation lives: the checkout for an editable install, else
# site-packages. The embedded database belongs to it, never to the cwd.
INSTALL_ROOT = Path(__file__).resolve().parents[2]


def _default_data_dir() -> Path:
    """Where the embedded cluster lives when no directory is configured.

    One per user and installation, whatever the current directory: a checkout keeps
    its cluster in ``<checkout>/.gridgis`` (where ``make demo`` always put it), an
    installed package in the user's data directory (platformdirs). As root the
    cluster runs as the ``postgres`` OS user, which usually cannot enter /root, so the
    data goes under /var/lib instead, one directory per installation.
    """
    if os.geteuid() == 0:
        digest = hashlib.sha1(str(INSTALL_ROOT).encode()).hexdigest()[:10]
        return Path("/var/lib/gridgis") / f"cluster-{digest}"
    if (INSTALL_ROOT / "pyproject.toml").exists():
        return INSTALL_ROOT / ".gridgis"
    return Path(user_data_dir("gridgis", appauthor=False)) / "cluster"


class EmbeddedSettings(BaseModel):
    """The private PostgreSQL+PostGIS cluster used when no database URL is given."""

    data_dir: Path = Field(default_factory=_default_data_dir)
    database: str = "gridgis"
    port: int | None = None  # None: a free loopback port is chosen at first start


class MapSettings(BaseModel):
    """Basemaps and where the map pages take their JavaScript/CSS from."""

    # osm | tianditu | amap | none; unset: tianditu when a key is set, else none
    # (a basemap that cannot load offline is worse than none: see maps.render).
    basemap: str | None = None
    tianditu_key: str | None = None
    assets: str = "local"  # local (served by GridGIS) | cdn
    # Above this many households a served coverage map draws them from vector
    # tiles (/ogc/tiles/{township}.visit_status/...) instead of inside the page.
    vector_tiles_above: int = 5000


class AssignmentSettings(BaseModel):
    """How households get a cadre."""

    # Arcs per household to the nearest cadres of its grid: memory and time stay
    # linear in households (every cadre of the grid grew as households x cadres).
    candidates: int = 8


class DisputeSettings(BaseModel):
    """Default thresholds of pasture-dispute detection (a run may override them)."""

    # A sliver is told by its shape, never by the parcels' size: a 1 % share of a
    # 200-mu pasture is 1 333 m², so a share rule hid real boundary disputes.
    min_area_m2: float = 100.0  # smaller overlaps are slivers (tiny)
    # Mean width 2·A/P under this is a digitising sliver (thin): two boundaries
    # digitised or walked with consumer GNSS disagree by up to a metre or two.
    min_width_m: float = 2.0
    min_share: float = 0.0  # optional share-of-the-smaller-parcel rule; 0 = off
    area_tolerance: float = 0.10  # mapped vs contract area differing by more: flagged


class ImportSettings(BaseModel):
    """How imports treat doubtful data."""

    id_numbers: Literal["flag", "reject"] = "flag"  # invalid GB 11643 numbers
    max_distance_km: float = 50.0  # data farther from the township's grids: refused


class DatabaseSettings(BaseModel):
    """Pool and per-request-class statement budgets (a slow query -> 503)."""

    # Connections are kept, not closed and reopened: under 32 concurrent tile
    # requests a pool of 10 + 10 overflow closed an overflow connection at every
    # return and opened another (36-80 new connections in 4 s), each a backend
    # to start and its prepared statements to plan again. The same 20 at most.
    pool_size: int = 20
    max_overflow: int = 0
    pool_timeout_s: float = 10.0  # waiting for a connection longer -> 503
    read_timeout_s: float = 30.0  # GET and other reads
    # Parallel workers per statement of a GET (None: PostgreSQL's setting). A
    # page's statements are short: counting a list's 100 000 households took
    # 22 ms in one process and 3 x ~20 ms with two workers on a 2-core server,
    # whose cores the other requests need anyway; row-level security's filters
    # raised the estimates past the parallel threshold, so the RLS arm of a list
    # went parallel and paid for it (the OGC requests already ran without).
    # Imports, runs and jobs keep PostgreSQL's setting.
    read_parallel_workers: int | None = 0
    write_timeout_s: float = 120.0  # POST/PUT/PATCH/DELETE
    import_timeout_s: float = 900.0  # layer imports and detection runs
    check_schema: bool = True  # refuse to start on a schema other than head


class LimitSettings(BaseModel):
    """Caps decided before any work is done (413/422/503 instead of exhaustion)."""

    max_body_bytes: int = 200 * 1024 * 1024  # uploads; larger -> 413 unread
    max_json_bytes: int = 10 * 1024 * 1024  # JSON bodies
    max_inflight: int = 64  # requests being served at once; more -> 503
    max_features: int = 500_000  # per import
    max_vertices: int = 100_000  # per feature
    zip_max_members: int = 1_000
    zip_max_bytes: int = 2 * 1024 * 1024 * 1024  # total uncompressed
    zip_max_ratio: float = 200.0  # uncompressed / compressed, per member
    upload_dir: Path | None = None  # private temp dir; None: <tmp>/gridgis-<uid>


def _warn_radii() -> dict[str, float]:
    return {
        "landslide": 500.0, "flood": 1000.0, "fire": 300.0, "road": 100.0,
        "building": 100.0, "electrical": 50.0, "other": 200.0,
    }  # fmt: skip


def _recheck_days() -> dict[str, int]:
    return {"critical": 3, "high": 7, "medium": 14, "low": 30}


class HazardSettings(BaseModel):
    """Per-kind warn radii and re-check intervals of hazards (a hazard may override)."""

    # Households within this many metres are warned (from a polygon's edge, 0 inside).
    warn_radius_m: dict[str, float] = Field(default_factory=_warn_radii)
    # An open hazard is due for a re-check this many days after its last check.
    recheck_days: dict[str, int] = Field(default_factory=_recheck_days)


class AuthSettings(BaseModel):
    """Sign-in: token signing, lifetimes, the rate limit and the cookie."""

    # HS256 key; unset: generated once and kept 0600 in ``secret_file``
    secret: str | None = None
    secret_file: Path | None = None  # None: beside the embedded cluster's data
    access_minutes: int = 15
    refresh_hours: int = 12
    session_hours: int = 8  # the workbench's cookie session
    max_failures: int = 5  # failed sign-ins in a row before an account locks
    address_failures: int = 20  # failed sign-ins from one address per window ...
    address_window_minutes: int = 15  # ... before it is refused (429)
    cookie_secure: bool = False  # True behind HTTPS


class Settings(BaseSettings):
    """All GridGIS settings; nested fields use ``__`` (``GRIDGIS_MAP__BASEMAP``)."""

    model_config = SettingsConfigDict(
        env_prefix="GRIDGIS_",
        env_nested_delimiter="__",
        env_file=(INSTALL_ROOT / ".env", ".env"),  # the checkout's, then the cwd's
        extra="ignore",
    )

    # The owner's login: migrations, partition DDL, the CLI (unset: embedded).
    database_url: str | None = None
    # Requests' login, a role that owns nothing (unset: derived, gridgis_service).
    service_database_url: str | None = None
    # Streaming replicas for reads: a JSON list or comma-separated URLs.
    read_database_url: Annotated[list[str], NoDecode] = Field(default_factory=list)
    embedded: EmbeddedSettings = Field(default_factory=EmbeddedSettings)
    map: MapSettings = Field(default_factory=MapSettings)
    assignment: AssignmentSettings = Field(default_factory=AssignmentSettings)
    disputes: DisputeSettings = Field(default_factory=DisputeSettings)
    imports: ImportSettings = Field(default_factory=ImportSettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    hazards: HazardSettings = Field(default_factory=HazardSettings)

    auth: AuthSettings = Field(default_factory=AuthSettings)
    host: str = "127.0.0.1"
    port: int = 8000
    page_limit_max: int = 10_000
    sql_echo: bool = False
    # The zone users read times in (CLI tables, XLSX ledgers, pages): an IANA name.
    timezone: str = DEFAULT_TIMEZONE

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """An IANA zone name the system knows (a typo is named at start-up)."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: give an IANA name such as "
                f"{DEFAULT_TIMEZONE}"
            ) from None
        return value

    @field_validator("read_database_url", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        """``a,b`` or ``["a", "b"]`` (JSON) or one URL."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [u.strip() for u in text.split(",") if u.strip()]
        return value


def get_settings() -> Settings:
    """Build settings from the environment now (never at import time)."""
    return Settings()


def shown_zone() -> ZoneInfo:
    """The zone times are shown to users in: the ``timezone`` setting.

    Cached per value of ``GRIDGIS_TIMEZONE``, so a table of a thousand times reads
    the settings once while a changed environment (a test, a shell) still counts.
    """
    return _zone(os.environ.get("GRIDGIS_TIMEZONE"))


@lru_cache(maxsize=8)
def _zone(variable: str | None) -> ZoneInfo:
    """The setting's zone; ``variable`` is only the cache key (settings read it)."""
    return ZoneInfo(get_settings().timezone)
