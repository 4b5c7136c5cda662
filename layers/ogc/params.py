"""Query parameters exactly as OGC API – Features says: anything else is a 400.

Parsed from the raw query string (not FastAPI's typed parameters) so that an
unknown or repeated parameter is refused, a limit above the maximum is clamped
rather than refused, and every error is a 400 naming the parameter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from gis_service.core.errors import BadRequest
from layers.ogc.crs import DEFAULT, ServedCrs, parse_crs

LIMIT_DEFAULT = 100
LIMIT_MAX = 10_000
FILTER_LANGS = ("cql2-text", "cql2-json")
ITEMS_PARAMS = frozenset(
    {
        "f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime",
        "properties", "sortby", "filter", "filter-lang", "filter-crs",
    }
)  # fmt: skip


def bad(field_name: str, detail: str, reason: str) -> BadRequest:
    """A 400 naming the offending parameter."""
    return BadRequest(detail, errors=[{"field": field_name, "reason": reason}])


@dataclass(frozen=True)
class BBox:
    """A bbox in CRS84/storage order (x = lon/easting); west > east wraps."""

    west: float
    south: float
    east: float
    north: float
    crs: ServedCrs = DEFAULT

    @property
    def crosses_antimeridian(self) -> bool:
        """Geographic west > east: the box spans the 180° meridian."""
        return self.crs.geographic and self.west > self.east


@dataclass(frozen=True)
class Interval:
    """A closed time interval; ``None`` is an open end."""

    start: datetime | None
    end: datetime | None


@dataclass
class ItemsQuery:
    """Everything a /items request asked for, validated."""

    limit: int = LIMIT_DEFAULT
    offset: int = 0
    bbox: BBox | None = None
    crs: ServedCrs = DEFAULT
    datetime: Interval | None = None
    properties: list[str] | None = None
    sortby: list[tuple[str, bool]] = field(default_factory=list)
    filter: str | None = None
    filter_lang: str = "cql2-text"
    filter_crs: ServedCrs = DEFAULT  # the CRS of the filter's geometry literals
    equals: dict[str, str] = field(default_factory=dict)
    fmt: str | None = None


def single_values(
    items: Iterable[tuple[str, str]], allowed: Iterable[str]
) -> dict[str, str]:
    """The query as a dict; unknown or repeated parameters are a 400."""
    allowed = set(allowed)
    out: dict[str, str] = {}
    for name, value in items:
        if name not in allowed:
            raise bad(
                name,
                f"unknown query parameter {name!r}; allowed: "
                + ", ".join(sorted(allowed)),
                "unknown parameter",
            )
        if name in out:
            raise bad(name, f"query parameter {name!r} is repeated", "repeated")
        out[name] = value
    return out


def parse_limit(value: str | None) -> int:
    """1..LIMIT_MAX; above the maximum is clamped (Features Core /req/core/fc-limit)."""
    if value is None:
        return LIMIT_DEFAULT
    try:
        limit = int(value)
    except ValueError:
        raise bad("limit", f"limit {value!r} is not an integer", "integer") from None
    if limit < 1:
        raise bad("limit", f"limit {limit} is below the minimum of 1", "minimum 1")
    return min(limit, LIMIT_MAX)


def parse_offset(value: str | None) -> int:
    """A non-negative integer (the paging cursor used by ``next``)."""
    if value is None:
        return 0
    if not value.isdigit():
        raise bad("offset", f"offset {value!r} is not a non-negative integer", "≥ 0")
    return int(value)


def parse_bbox(value: str | None, crs: ServedCrs) -> BBox | None:
    """4 or 6 numbers in ``crs`` axis order; west > east crosses the antimeridian."""
    if value is None:
        return None
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise bad("bbox", f"bbox {value!r} must be 4 or 6 numbers", "4 or 6 numbers")
    if len(numbers) == 6:  # minx, miny, minz, maxx, maxy, maxz: height is ignored
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    a1, a2, b1, b2 = numbers
    west, south, east, north = (a2, a1, b2, b1) if crs.northing_first else numbers
    if south > north:
        raise bad("bbox", f"bbox {value!r} has south > north", "south > north")
    if crs.geographic and not (
        south >= -90 and north <= 90 and abs(west) <= 180 and abs(east) <= 180
    ):
        raise bad(
            "bbox",
            f"bbox {value!r} is outside latitude ±90 / longitude ±180",
            "out of range",
        )
    if not crs.geographic and west > east:
        raise bad("bbox", f"bbox {value!r} has west > east", "west > east")
    return BBox(west, south, east, north, crs)


def _instant(text: str, *, end: bool) -> datetime:
    """An RFC 3339 date-time (with offset) or a full-date (the whole day)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(), tzinfo=UTC)
            return moment + timedelta(days=1, microseconds=-1) if end else moment
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad(
            "datetime",
            f"datetime {text!r} is not an RFC 3339 date-time or date",
            "RFC 3339",
        ) from None
    if moment.tzinfo is None:
        raise bad(
            "datetime",
            f"datetime {text!r} has no time zone (RFC 3339 needs Z or ±hh:mm)",
            "RFC 3339",
        )
    return moment


def parse_datetime(value: str | None) -> Interval | None:
    """An instant, a closed interval ``a/b`` or a half-bounded one (``..`` or '')."""
    if value is None:
        return None
    parts = value.split("/")
    if len(parts) == 1:
        if value in ("", ".."):
            raise bad("datetime", "datetime must not be empty", "RFC 3339")
        start = _instant(value, end=False)
        return Interval(start, _instant(value, end=True))
    if len(parts) != 2:
        raise bad("datetime", f"datetime {value!r} has more than one '/'", "interval")
    a, b = parts
    lo = None if a in ("", "..") else _instant(a, end=False)
    hi = None if b in ("", "..") else _instant(b, end=True)
    if lo is not None and hi is not None and lo > hi:
        raise bad("datetime", f"datetime {value!r} ends before it starts", "interval")
    return Interval(lo, hi)


def parse_names(value: str | None, known: Iterable[str], name: str) -> list[str]:
    """A comma-separated list of property names, each one known."""
    if value is None or value == "":
        return []
    known = set(known)
    names = [n.strip() for n in value.split(",")]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise bad(
            name,
            f"{name}: unknown properties {', '.join(map(repr, unknown))}; known: "
            + ", ".join(sorted(known)),
            "unknown property",
        )
    return names


def parse_sortby(value: str | None, sortable: Iterable[str]) -> list[tuple[str, bool]]:
    """``+a,-b`` (or ``a:asc``) over queryable properties: (name, ascending).

    An empty ``sortby=`` asks for no order; an empty term (``a,,b``) is a 400.
    """
    if value is None or not value.strip():
        return []
    out: list[tuple[str, bool]] = []
    for raw in value.split(","):
        term = raw.strip()
        ascending = not term.startswith("-")
        term = term.lstrip("+-")
        if term.endswith((":A", ":D")):  # CQL2 Part 3 short form
            ascending, term = term.endswith(":A"), term[:-2]
        if not term:
            raise bad("sortby", f"sortby {value!r} has an empty property name", "empty")
        out.append((term, ascending))
    parse_names(",".join(n for n, _ in out), sortable, "sortby")
    return out


def parse_items(
    query: Iterable[tuple[str, str]],
    *,
    queryables: Iterable[str],
    properties: Iterable[str],
) -> ItemsQuery:
    """Validate a /items query against the collection's (queryable) properties."""
    queryables = list(queryables)
    values = single_values(query, ITEMS_PARAMS | set(queryables))
    lang = values.get("filter-lang", "cql2-text")
    if lang not in FILTER_LANGS:
        raise bad("filter-lang", f"filter-lang {lang!r} is not cql2-text/json", "enum")
    bbox_crs = parse_crs(values.get("bbox-crs"), field="bbox-crs")
    return ItemsQuery(
        limit=parse_limit(values.get("limit")),
        offset=parse_offset(values.get("offset")),
        bbox=parse_bbox(values.get("bbox"), bbox_crs),
        crs=parse_crs(values.get("crs"), field="crs"),
        datetime=parse_datetime(values.get("datetime")),
        properties=(
            parse_names(values["properties"], properties, "properties")
            if "properties" in values
            else None
        ),
        sortby=parse_sortby(values.get("sortby"), [*queryables, "id"]),
        filter=values.get("filter"),
        filter_lang=lang,
        filter_crs=parse_crs(values.get("filter-crs"), field="filter-crs"),
        equals={k: v for k, v in values.items() if k in set(queryables)},
        fmt=values.get("f"),
    )
