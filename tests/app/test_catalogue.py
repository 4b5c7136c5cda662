"""The message catalogue: complete for English, and the locale a request gets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from gis_service.core.i18n import (
    EN,
    LOCALE_DIR,
    ZH,
    from_accept_language,
    negotiate,
    translator,
)

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|\{[a-z_]+\}")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """What ``make messages`` extracts from the code and templates (babel.cfg)."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract",
         "-F", "babel.cfg", "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as f:
        return read_po(f)


def _english() -> Catalog:
    with (LOCALE_DIR / EN / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale="en")


def test_every_extracted_word_has_an_english_translation(extracted: Catalog) -> None:
    english = _english()
    ids = [m.id for m in extracted if m.id]
    assert len(ids) > 250  # pages, labels, maps
    missing = [i for i in ids if i not in english or not english[i].string]
    assert not missing, f"untranslated (run `make messages`, fill in msgstr): {missing}"
    fuzzy = [m.id for m in english if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy translations are not used: {fuzzy}"
    stale = [m.id for m in english if m.id and m.id not in extracted]
    assert not stale, f"no longer in the code (run `make messages`): {stale}"


def test_translations_keep_their_placeholders() -> None:
    for message in _english():
        if message.id and isinstance(message.id, str):
            assert sorted(PLACEHOLDER.findall(message.id)) == sorted(
                PLACEHOLDER.findall(str(message.string))
            ), message.id


def test_chinese_is_the_source_and_english_is_read_from_the_po() -> None:
    assert translator(ZH)("走访覆盖率") == "走访覆盖率"
    assert translator(EN)("走访覆盖率") == "Visit coverage"
    assert translator(EN)("not a msgid") == "not a msgid"
    assert translator("fr")("走访覆盖率") == "走访覆盖率"


@pytest.mark.parametrize(
    ("query", "cookie", "header", "expected"),
    [
        (None, None, None, ZH),
        ("en", "zh-CN", "zh", EN),
        ("xx", "en", "zh", EN),  # an unknown ?lang= falls through to the cookie
        (None, "en", "zh-CN,zh;q=0.9", EN),
        (None, None, "en-GB,en;q=0.9,zh;q=0.8", EN),
        (None, None, "en;q=0.5,zh-TW;q=0.5", ZH),  # a tie: Chinese
        (None, None, "fr,de;q=0.9", ZH),
        (None, None, "zh;q=0,en;q=0.1", EN),
        (None, None, "en;q=abc,zh;q=0.2", ZH),
    ],
)
def test_negotiate(
    query: str | None, cookie: str | None, header: str | None, expected: str
) -> None:
    assert negotiate(query, cookie, header) == expected


def test_accept_language_without_a_supported_locale() -> None:
    assert from_accept_language("*, fr") is None


def test_an_empty_message_is_not_the_catalogue_header() -> None:
    assert translator(EN)("") == ""
