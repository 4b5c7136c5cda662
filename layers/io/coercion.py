"""Typing of attribute columns: text, numbers, enums, tags, dates, booleans.

Each check is one vectorised comparison over the column; reasons are formatted
only for the offending rows (``Report.add``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from gis_service.core.idnumbers import normalise_id_numbers
from gis_service.core.inputs import (
    CHINA_UTC_OFFSET,
    MAX_YEAR,
    MIN_YEAR,
    UNSTORABLE_REASON,
    find_unstorable,
    storable,
)
from gis_service.core.vocab import canonical
from layers.io.reading import NONE
from layers.io.specs import Field

WARN_ROWS = 20
TAG_SPLIT = re.compile(r"\s*[,;，；、|]\s*")
TZ_SUFFIX = re.compile(r"(Z|[+-]\d\d:?\d\d)$")
INT_MAX = 2**31 - 1
LOCAL_UTC_OFFSET = pd.Timedelta(CHINA_UTC_OFFSET)  # naive times in data are UTC+8
TRUE = {"true", "t", "1", "yes", "y", "是"}
FALSE = {"false", "f", "0", "no", "n", "否"}


class Report:
    """Collects per-feature errors."""

    def __init__(
        self,
        codes: NDArray[np.object_],
        *,
        first_row: int | None = None,
        id_numbers: str = "flag",
    ) -> None:
        self.codes = codes
        self.errors: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.first_row = first_row  # tables: rows as the spreadsheet numbers them
        self.id_numbers = id_numbers  # reject | flag invalid ID numbers

    def warn(self, mask: NDArray[np.bool_], reasons: NDArray[np.object_]) -> None:
        """A warning per flagged row (the first 20, then how many more)."""
        rows = np.flatnonzero(mask)
        for i in rows[:WARN_ROWS]:
            where = f"row {i + self.first_row}" if self.first_row else f"feature {i}"
            code = self.codes[i]
            named = "" if pd.isna(code) else f" ({code})"
            self.warnings.append(f"{where}{named}: {reasons[i]}")
        if len(rows) > WARN_ROWS:
            self.warnings.append(f"… and {len(rows) - WARN_ROWS} more rows like these")

    def add(self, mask: NDArray[np.bool_], name: str, reasons: Any) -> None:
        """Record a reason (a string, a sequence, or ``f(i)``) for rows in ``mask``.

        Reasons are formatted only for the offending rows, so a clean file of
        100 000 features costs one vectorised comparison per check.
        """
        for i in np.flatnonzero(mask):
            if isinstance(reasons, str):
                reason = reasons
            elif callable(reasons):
                reason = reasons(i)
            else:
                reason = reasons[i]
            code = self.codes[i]
            self.errors.append(
                {
                    "feature": int(i),
                    "code": None if pd.isna(code) else str(code),
                    "field": name,
                    "reason": reason,
                }
            )


def _text(value: Any) -> str | None:
    """A cell as stripped text; integral floats lose their '.0'."""
    if (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and np.isnan(value))
    ):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    out = str(value).strip()
    return out or None


def texts(column: pd.Series) -> NDArray[np.object_]:
    """A column as stripped text or None.

    String columns (what pyogrio's Arrow reader gives) are trimmed by Arrow;
    anything else (numbers in a text field, mixed cells) cell by cell.
    """
    if isinstance(column.dtype, pd.StringDtype):
        trimmed = pc.utf8_trim_whitespace(pa.array(column, from_pandas=True))
        blank = pc.fill_null(pc.equal(trimmed, ""), True)
        out: NDArray[np.object_] = pc.if_else(blank, None, trimmed).to_numpy(
            zero_copy_only=False
        )
        return out
    return np.array(
        [
            (v.strip() or None) if type(v) is str else _text(v)
            for v in column.to_numpy(dtype=object)
        ],
        dtype=object,
    )


def coerce(
    column: pd.Series, f: Field, report: Report
) -> tuple[NDArray[np.object_], NDArray[np.bool_]]:
    """Type one column; record wrong types, out-of-range and unknown values."""
    n = len(column)
    keep = np.zeros(n, bool)
    if f.kind == "tags":
        return _coerce_tags(column.to_numpy(object), f, report), keep
    if f.kind in ("date", "timestamp"):
        return _coerce_time(column.to_numpy(object), f, report), keep
    if f.kind in ("int", "float"):
        return _coerce_number(column, f, report), keep
    text = texts(column)
    blank = pd.isna(text)
    if f.required:
        report.add(blank, f.name, f"{f.name} is required")
    _refuse_nul(text, f.name, report)
    if f.kind == "bool":
        low = pd.Series(text, dtype=object).str.lower()
        values = np.where(low.isin(TRUE), True, np.where(low.isin(FALSE), False, NONE))
        bad = ~blank & pd.isna(values)
        report.add(bad, f.name, lambda i: f"expected true/false, got {text[i]!r}")
        return values.astype(object), keep
    if f.kind == "enum":
        text = _canonical_values(text, f)
        bad = ~blank & ~np.isin(text, f.values)
        allowed = ", ".join(f.values)
        report.add(bad, f.name, lambda i: f"{text[i]!r} is not one of {allowed}")
    if f.max_len is not None:
        lengths = np.array([len(t) if t else 0 for t in text])
        report.add(
            lengths > f.max_len,
            f.name,
            lambda i: f"longer than {f.max_len} characters ({int(lengths[i])})",
        )
    if f.personal:
        keep = np.array([t is not None and "*" in t for t in text], dtype=bool)
        text[keep] = None  # a masked value (from an export) keeps the stored one
    if f.check == "gb11643":
        text, reasons = normalise_id_numbers(text)
        bad = ~pd.isna(reasons)
        if report.id_numbers == "reject":
            report.add(bad, f.name, reasons)
        elif bad.any():
            report.warn(bad, reasons)
    return text, keep


NUL_REASON = UNSTORABLE_REASON


def _refuse_nul(text: NDArray[np.object_], name: str, report: Report) -> None:
    """Name the cells PostgreSQL cannot store (CSV/XLSX keep a NUL; text cannot)."""
    if storable("".join(text[~pd.isna(text)])):  # one scan for the usual case
        return
    bad = find_unstorable(list(text))
    if bad:
        report.add(np.isin(np.arange(len(text)), bad), name, NUL_REASON)


def _canonical_values(text: NDArray[np.object_], f: Field) -> NDArray[np.object_]:
    """Enum cells as codes: 网格员 and "Grid Worker" are grid_worker."""
    present = ~pd.isna(text)
    codes, uniques = pd.factorize(text[present])
    if not len(uniques):
        return text
    named = np.array(
        [canonical(str(u), f.values, f.value_aliases) for u in uniques], dtype=object
    )
    out = text.copy()
    out[present] = named[codes]
    return out


def _coerce_number(column: pd.Series, f: Field, report: Report) -> NDArray[np.object_]:
    """Integers and floats; a text cell that is no number is named."""
    if pd.api.types.is_numeric_dtype(column.dtype):
        numbers = column.to_numpy(float)
        blank = np.isnan(numbers)
        text = column.to_numpy(object)
    else:
        text = texts(column)
        blank = pd.isna(text)
        numbers = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(float)
    if f.required:
        report.add(blank, f.name, f"{f.name} is required")
    bad = ~blank & ~np.isfinite(numbers)
    report.add(bad, f.name, lambda i: f"expected a number, got {text[i]!r}")
    ok = ~blank & ~bad
    if f.kind == "int":
        frac = ok & (np.mod(np.where(ok, numbers, 0), 1) != 0)
        report.add(frac, f.name, lambda i: f"expected a whole number, got {text[i]}")
        ok &= ~frac
        # the column is a PostgreSQL integer: a larger value failed the COPY (500)
        big = ok & (np.abs(np.where(ok, numbers, 0)) > INT_MAX)
        report.add(big, f.name, lambda i: f"must be at most {INT_MAX}, got {text[i]}")
        ok &= ~big
    if f.minimum is not None:
        low = ok & (numbers <= f.minimum if f.exclusive_min else numbers < f.minimum)
        sign = ">" if f.exclusive_min else ">="
        report.add(
            low, f.name, lambda i: f"must be {sign} {f.minimum:g}, got {text[i]}"
        )
    if f.maximum is not None:
        high = ok & (numbers > f.maximum)
        report.add(high, f.name, lambda i: f"must be <= {f.maximum:g}, got {text[i]}")
    if f.kind == "int":
        return np.where(ok, np.where(ok, numbers, 0).astype(np.int64), NONE)
    return np.where(ok, numbers, NONE)


def _coerce_tags(
    raw: NDArray[np.object_], f: Field, report: Report
) -> NDArray[np.object_]:
    """Tags from a JSON array, a list, or text separated by , ; 、 |."""
    out = np.empty(len(raw), dtype=object)
    allowed = set(f.values)
    unknown: dict[int, list[str]] = {}
    # Few distinct texts repeat: parse each once, then spread by position.
    is_text = np.fromiter((isinstance(v, str) for v in raw), bool, len(raw))
    codes, uniques = pd.factorize(raw[is_text])
    aliases = dict(f.value_aliases)
    parsed = [_split_tags(v, allowed, aliases) for v in uniques]
    kept = np.empty(len(parsed), dtype=object)  # element-wise: lists stay lists
    for k, (known, _) in enumerate(parsed):
        kept[k] = known  # shared, read-only lists
    text_rows = np.flatnonzero(is_text)
    out[text_rows] = kept[codes]
    has_bad = np.array([bool(p[1]) for p in parsed], dtype=bool)
    bad_rows = np.flatnonzero(has_bad[codes] if has_bad.any() else [])
    for row, code in zip(text_rows[bad_rows], codes[bad_rows], strict=True):
        unknown[int(row)] = parsed[code][1]
    for i in np.flatnonzero(~is_text).tolist():
        known, other = _split_tags(raw[i], allowed, aliases)
        out[i] = known
        if other:
            unknown[i] = other
    expected = ", ".join(f.values)
    report.add(
        np.isin(np.arange(len(raw)), list(unknown)),
        f.name,
        lambda i: (
            f"unknown tag(s) {', '.join(unknown[i])}; expected some of {expected}"
        ),
    )
    return out


def _split_tags(
    value: Any, allowed: set[str], aliases: dict[str, str]
) -> tuple[list[str], list[str]]:
    """(known tags without repeats, unknown tags) of one cell; 低保户 is 低保."""
    tags = [aliases.get(t, aliases.get(t.lower(), t)) for t in _tag_list(value)]
    return (
        list(dict.fromkeys(t for t in tags if t in allowed)),
        [t for t in tags if t not in allowed],
    )


def _tag_list(value: Any) -> list[str]:
    if (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and np.isnan(value))
    ):
        return []
    if isinstance(value, list | tuple | np.ndarray):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            return [str(v).strip() for v in json.loads(text) if str(v).strip()]
        except (json.JSONDecodeError, TypeError):
            pass
    return [t for t in TAG_SPLIT.split(text) if t]


def _coerce_time(
    raw: NDArray[np.object_], f: Field, report: Report
) -> NDArray[np.object_]:
    """Dates and timestamps; naive times are taken as China time (UTC+8)."""
    series = pd.Series(raw, dtype=object)
    blank = series.isna().to_numpy() | (series.astype(str).str.strip() == "").to_numpy()
    text = series.where(~blank, None).astype(str).str.strip()
    parsed = pd.to_datetime(
        text.where(~blank), errors="coerce", utc=True, format="mixed"
    )
    bad = ~blank & parsed.isna().to_numpy()
    what = "a date (YYYY-MM-DD)" if f.kind == "date" else "a date-time (ISO 8601)"
    report.add(bad, f.name, lambda i: f"expected {what}, got {text[i]!r}")
    # year 0 failed the COPY and year 10000 every later read (Python's datetime)
    years = parsed.dt.year.to_numpy(dtype=float, na_value=np.nan)
    odd = ~blank & ~bad & ((years < MIN_YEAR) | (years > MAX_YEAR))
    report.add(
        odd, f.name, lambda i: f"year outside {MIN_YEAR}..{MAX_YEAR}: {text[i]!r}"
    )
    parsed = parsed.where(~odd)
    if f.required:
        report.add(blank, f.name, f"{f.name} is required")
    if f.kind == "date":
        values = [None if pd.isna(p) else p.date() for p in parsed]
        return np.array(values, dtype=object)
    naive = ~text.str.contains(TZ_SUFFIX).to_numpy()
    naive &= ~np.array(
        [isinstance(v, pd.Timestamp) and v.tzinfo is not None for v in raw]
    )
    parsed = parsed.where(~naive, parsed - LOCAL_UTC_OFFSET)
    return np.array(
        [None if pd.isna(p) else p.isoformat() for p in parsed], dtype=object
    )
