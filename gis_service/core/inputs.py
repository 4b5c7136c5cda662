"""Value types for client input that PostgreSQL can always store and compare.

Pydantic checks them, so a bad value is a 422 naming its field rather than a
database error: row ids fit a bigint, dates lie in a plausible range, text holds
no NUL, and a time's UTC offset is normalised (Python allows ±23:59, PostgreSQL
only ±15:59). A time without an offset is China Standard Time (UTC+8), as
everywhere in GridGIS, never the database server's time zone.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import AfterValidator

BIGINT_MAX = 2**63 - 1
# PostgreSQL text holds neither NUL nor unpaired UTF-16 surrogates (not UTF-8).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MIN_YEAR, MAX_YEAR = 1900, 2200
CHINA_TZ = timezone(timedelta(hours=8))


def _in_years(value: date) -> None:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"year {value.year} is outside {MIN_YEAR}..{MAX_YEAR}")


def check_day(value: date) -> date:
    """A calendar date between MIN_YEAR and MAX_YEAR."""
    _in_years(value)
    return value


def as_utc(value: datetime) -> datetime:
    """An aware UTC time; a naive one is China time (UTC+8), as clients mean it."""
    return (value if value.tzinfo else value.replace(tzinfo=CHINA_TZ)).astimezone(UTC)


def china_today() -> date:
    """Today's date where the townships are (UTC+8), whatever the server's zone."""
    return datetime.now(CHINA_TZ).date()


def check_instant(value: datetime) -> datetime:
    """A time between MIN_YEAR and MAX_YEAR, as UTC (naive: China time)."""
    _in_years(value)
    return as_utc(value)


def check_text(value: str) -> str:
    """Text PostgreSQL can store (for values that arrive in files, not as JSON)."""
    if UNSTORABLE.search(value):
        raise ValueError("contains a NUL character or an unpaired surrogate")
    return value


Day = Annotated[date, AfterValidator(check_day)]
Instant = Annotated[datetime, AfterValidator(check_instant)]
Text = Annotated[str, AfterValidator(check_text)]
RowId = Annotated[int, Ge(1), Le(BIGINT_MAX)]
Offset = Annotated[int, Ge(0), Le(BIGINT_MAX)]
