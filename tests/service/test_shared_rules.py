"""Shared rules are written once: a second copy in the source fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gis_service.core.inputs import UNSTORABLE, find_unstorable, storable

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gis_service", "grids", "layers", "maps")


def _sources() -> list[Path]:
    return [
        p
        for package in PACKAGES
        for p in sorted((ROOT / package).rglob("*"))
        if p.suffix in (".py", ".sql")
    ]


RULES = [
    (
        "township exists",
        r"SELECT \w+ FROM townships\s+WHERE\s+code",
        "gis_service/core/townships.py",
    ),
    ("China time", r"hours\s*=\s*8|Asia/Shanghai", "gis_service/core/inputs.py"),
    (
        "text PostgreSQL cannot store",
        r"\\ud800|\\x00\"? (not )?in ",
        "gis_service/core/inputs.py",
    ),
    ("grid path by code", r"SELECT\s+\w*\.?path\s+FROM\s+grids", "grids/tree/scope.py"),
]


@pytest.mark.parametrize(("rule", "pattern", "home"), RULES)
def test_rule_is_written_once(rule: str, pattern: str, home: str) -> None:
    found = [
        str(p.relative_to(ROOT))
        for p in _sources()
        if re.search(pattern, p.read_text(encoding="utf-8"))
    ]
    assert found == [home], f"{rule}: written in {found}, keep it in {home}"


@pytest.mark.parametrize(
    "value", ["abc", "张三", "a\x00b", "\ud800", "x\udfff", "😀", "", "\x00"]
)
def test_storable_agrees_with_the_regex(value: str) -> None:
    assert storable(value) == (UNSTORABLE.search(value) is None)


def test_find_unstorable_names_positions() -> None:
    assert find_unstorable(["a", None, "b\x00", 3, "\ud801", "张"]) == [2, 4]
    assert find_unstorable(["a", None, "张"]) == []
