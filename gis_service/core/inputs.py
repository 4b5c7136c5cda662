"""Value types for client input that PostgreSQL can always store and compare.

Pydantic checks them, so a bad value is a 422 naming its field rather than a
database error: row ids fit a bigint, dates lie in a plausible range, text holds
no NUL, and a time's UTC offset is normalised (Python allows ±23:59, PostgreSQL
only ±15:59). A time without an offset is China Standard Time (UTC+8), as
everywhere in GridGIS, never the database server's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    WithJsonSchema,
    model_validator,
)

BIGINT_MAX = 2**63 - 1
# The largest integer a JSON number (an IEEE double) holds exactly (JavaScript's
# MAX_SAFE_INTEGER): the cap on ids and offsets, so a client's parser and the
# schema's maximum mean the same value (bigger ones were 2**63-1 checks a double
# could not tell apart).
ID_MAX = 2**53 - 1
# PostgreSQL text holds neither NUL nor unpaired UTF-16 surrogates (not UTF-8).
# The one text rule: request guard, pydantic ``Text``, file import all use it.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_REASON = (
    "contains a NUL character (\\0) or an unpaired surrogate, "
    "which the database cannot store"
)
MIN_YEAR, MAX_YEAR = 1900, 2200
# China Standard Time, the local time of data that carries no offset (no DST
# since 1991). Times are *shown* in the ``GRIDGIS_TIMEZONE`` setting, by default:
CHINA_UTC_OFFSET = timedelta(hours=8)
CHINA_TZ = timezone(CHINA_UTC_OFFSET)
DEFAULT_TIMEZONE = "Asia/Shanghai"


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


def storable(value: str) -> bool:
    """Whether PostgreSQL can store ``value`` as text (``UNSTORABLE`` finds none).

    Encoding is how: it refuses a surrogate and runs at memory speed, five to
    a hundred times faster than the regex on the large joined columns of imports.
    """
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def find_unstorable(values: Sequence[object]) -> list[int]:
    """Positions of the strings PostgreSQL cannot store (one scan when none)."""
    texts = [v for v in values if isinstance(v, str)]
    if storable("".join(texts)):
        return []
    return [i for i, v in enumerate(values) if isinstance(v, str) and not storable(v)]


def check_text(value: str) -> str:
    """Text PostgreSQL can store (for values that arrive in files, not as JSON)."""
    if not storable(value):
        raise ValueError(UNSTORABLE_REASON)
    return value


_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def not_a_number(value: object) -> object:
    """Refuse a bare number where a date or time is meant.

    pydantic reads ``0.5`` or ``"1700000000"`` as seconds since 1970, so
    ``?until=0.5`` silently meant January 1970.
    """
    if isinstance(value, bool | int | float) or (
        isinstance(value, str) and _NUMBER.match(value)
    ):
        raise ValueError(
            "expected an ISO 8601 date or date-time such as 2025-06-01T09:00:00+08:00,"
            " not a number"
        )
    return value


def _numeric(annotation: object) -> bool:
    """Whether a field's type is a number (int/float), not also a bool."""
    args = get_args(annotation)
    if get_origin(annotation) is Annotated:
        return _numeric(args[0])
    if args and get_origin(annotation) in (Union, UnionType):
        return bool not in args and any(_numeric(a) for a in args)
    return annotation in (int, float)


def _boolean(annotation: object) -> bool:
    """Whether a field's type is a bool (optional or not)."""
    args = get_args(annotation)
    if get_origin(annotation) is Annotated:
        return _boolean(args[0])
    if args and get_origin(annotation) in (Union, UnionType):
        return bool in args
    return annotation is bool


class StrictInput(BaseModel):
    """Base of request bodies: ``true``/``false`` is not a number, nor 0 a bool.

    Lax pydantic takes ``{"min_share": false}`` as 0.0 and ``{"dry_run": 0}`` as
    false; a client sending either has a bug we should name, not a run to start.
    """

    @model_validator(mode="before")
    @classmethod
    def _no_boolean_numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, field in cls.model_fields.items():
                key = field.alias or name
                value = data.get(key)
                if isinstance(value, bool) and _numeric(field.annotation):
                    raise ValueError(f"{key}: expected a number, not {value!r}")
                if (
                    value is not None
                    and not isinstance(value, bool)
                    and _boolean(field.annotation)
                ):
                    raise ValueError(f"{key}: expected true or false, not {value!r}")
        return data


# The year range, in the schema too (JSON Schema has no date minimum).
YEAR_PATTERN = "^(19[0-9]{2}|2[01][0-9]{2}|2200)-"
Day = Annotated[
    date,
    BeforeValidator(not_a_number),
    AfterValidator(check_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": YEAR_PATTERN}),
]
Instant = Annotated[
    datetime,
    BeforeValidator(not_a_number),
    AfterValidator(check_instant),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": YEAR_PATTERN}),
]
Text = Annotated[str, AfterValidator(check_text)]
RowId = Annotated[int, Ge(1), Le(ID_MAX)]
Offset = Annotated[int, Ge(0), Le(ID_MAX)]
