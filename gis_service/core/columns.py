"""Which file column is which field: user mappings, header aliases, resemblances.

Township spreadsheets name their columns in Chinese, with units, stars for
required ones and full-width brackets (``*户主姓名``, ``承包面积（亩）``). One
matcher serves every import (layers and visits): a ``TARGET=SOURCE`` mapping
given by the user wins, then the field's own name and its aliases (certain
names, used silently), and a column that only *resembles* a wanted field (a
hint, e.g. ``parent_id`` for ``parent_code``) is never used but named with the
exact ``--map`` to pass.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gis_service.core.errors import InvalidInput

_INNER = re.compile(r"^(.*?)\s*[(\[]\s*([A-Za-z_][A-Za-z0-9_]*)\s*[)\]]\s*$")
_PAIR_SPLIT = re.compile(r"[\n;]+|,(?=[^,=]*=)")


def normalise(name: object) -> str:
    """A header as compared: NFKC (full-width to half), lower case, no spaces/stars."""
    text = unicodedata.normalize("NFKC", str(name)).strip().lower()
    return re.sub(r"[\s*＊:：]+", "", text)


def header_keys(name: object) -> list[str]:
    """The ways a header may name a field: whole, and ``中文(english)``'s parts."""
    text = unicodedata.normalize("NFKC", str(name)).strip()
    keys = [normalise(text)]
    match = _INNER.match(text)
    if match:  # a template header "户主姓名(head_name)": the English name decides
        keys = [normalise(match.group(2)), normalise(match.group(1)), *keys]
    return list(dict.fromkeys(k for k in keys if k))


def parse_field_map(items: Sequence[str] | str | None) -> dict[str, str]:
    """``TARGET=SOURCE`` items (or a JSON object) as {target: source}; else 422."""
    if items is None:
        return {}
    if isinstance(items, str):
        items = [items]
    out: dict[str, str] = {}
    for item in items:
        text = item.strip()
        if not text:
            continue
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                data = None
            if not isinstance(data, dict) or not all(
                isinstance(v, str) for v in data.values()
            ):
                raise _bad_map(text)
            out.update({str(k).strip(): v.strip() for k, v in data.items()})
            continue
        for pair in _PAIR_SPLIT.split(text):
            target, sep, source = pair.partition("=")
            if not pair.strip():
                continue
            if not sep or not target.strip() or not source.strip():
                raise _bad_map(pair)
            out[target.strip()] = source.strip()
    return out


def _bad_map(item: str) -> InvalidInput:
    return InvalidInput(
        f"field map {item!r} is not TARGET=SOURCE (e.g. --map parent_code=parent_id)",
        errors=[{"field": "field_map", "reason": "TARGET=SOURCE, repeatable"}],
    )


@dataclass(frozen=True)
class Wanted:
    """A field a file may carry: certain aliases and mere resemblances."""

    name: str
    aliases: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    label: str = ""  # the Chinese name, for messages


@dataclass
class Matched:
    """How a file's columns map onto fields, and what was left over."""

    rename: dict[str, str] = field(default_factory=dict)  # column -> field
    unused: list[str] = field(default_factory=list)
    suggestions: dict[str, str] = field(default_factory=dict)  # field -> column


def match_columns(
    columns: Iterable[object],
    wanted: Sequence[Wanted],
    field_map: Mapping[str, str],
    *,
    option: str = "--map",
    ignore: Iterable[str] = (),
) -> Matched:
    """Map ``columns`` onto ``wanted`` fields; a bad ``field_map`` is one 422."""
    columns = list(columns)
    by_name = {w.name: w for w in wanted}
    unknown = [t for t in field_map if t not in by_name]
    if unknown:
        names = ", ".join(by_name)
        raise InvalidInput(
            f"{option} {unknown[0]}=...: no field {unknown[0]!r}; fields: {names}",
            errors=[
                {"field": t, "reason": f"not a field; one of {names}"} for t in unknown
            ],
        )
    by_header: dict[str, object] = {}
    for column in columns:
        for key in header_keys(column):
            by_header.setdefault(key, column)
    out = Matched()
    taken: set[object] = set()
    for target, source in field_map.items():
        column = by_header.get(normalise(source))
        if column is None:
            shown = ", ".join(str(c) for c in columns)
            raise InvalidInput(
                f"{option} {target}={source}: the file has no column {source!r}; "
                f"it has {shown}",
                errors=[{"field": target, "reason": f"no column {source!r}"}],
            )
        out.rename[str(column)] = target
        taken.add(column)
    mapped = set(field_map)
    for w in wanted:  # exact names first, then aliases, in the spec's order
        if w.name in mapped:
            continue
        for alias in (w.name, *w.aliases):
            column = by_header.get(normalise(alias))
            if column is not None and column not in taken:
                out.rename[str(column)] = w.name
                taken.add(column)
                mapped.add(w.name)
                break
    leftover = [str(c) for c in columns if c not in taken]
    skip = {normalise(i) for i in ignore}
    out.unused = [c for c in leftover if normalise(c) not in skip]
    for w in wanted:
        if w.name in mapped:
            continue
        hints = {normalise(h) for h in w.hints}
        for column in leftover:
            if hints & set(header_keys(column)):
                out.suggestions[w.name] = column
                break
    return out


def map_hint(target: str, column: str, option: str = "--map") -> str:
    """The exact option that maps ``column`` onto ``target``."""
    quoted = column if re.fullmatch(r"[\w()（）.-]+", column) else f"'{column}'"
    return f"{option} {target}={quoted}"
