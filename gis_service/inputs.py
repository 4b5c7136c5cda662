"""Value types for client input that PostgreSQL can always store and compare.

Pydantic checks them, so a bad value is a 422 naming its field rather than a
database error: row ids fit a bigint, dates lie in a plausible range, and a
time's UTC offset is normalised (Python allows ±23:59, PostgreSQL only ±15:59).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import AfterValidator

BIGINT_MAX = 2**63 - 1
MIN_YEAR, MAX_YEAR = 1900, 2200


def _in_years(value: date) -> None:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"year {value.year} is outside {MIN_YEAR}..{MAX_YEAR}")


def check_day(value: date) -> date:
    """A calendar date between MIN_YEAR and MAX_YEAR."""
    _in_years(value)
    return value


def check_instant(value: datetime) -> datetime:
    """A time between MIN_YEAR and MAX_YEAR; an aware one is converted to UTC."""
    _in_years(value)
    return value.astimezone(UTC) if value.tzinfo else value


Day = Annotated[date, AfterValidator(check_day)]
Instant = Annotated[datetime, AfterValidator(check_instant)]
RowId = Annotated[int, Ge(1), Le(BIGINT_MAX)]
Offset = Annotated[int, Ge(0), Le(BIGINT_MAX)]
