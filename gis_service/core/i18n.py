"""Words users read, in zh-CN (the source language) or English: one gettext catalogue.

The msgids are the Chinese source strings: Chinese is the default and the language
the code is written in, so a zh-CN page needs no catalogue at all (gettext answers
the msgid), a template reads as the page it renders, and there is one catalogue to
keep complete (``gis_service/locale/en/LC_MESSAGES/messages.po``). The English
catalogue is read from its ``.po`` with Babel and compiled in memory once per
process: no binary ``.mo`` in git and no build step a fresh clone could miss.

``N_`` marks a word for extraction where it is defined (a table of labels); the
caller translates it where it is shown. Pure: no web or database imports, so the
map renderer can take a translator from here.
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

ZH = "zh-CN"
EN = "en"
LOCALES = (ZH, EN)
DEFAULT = ZH
COOKIE = "gridgis_lang"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "messages"

Gettext = Callable[[str], str]


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it here."""
    return message


def same(message: str) -> str:
    """``gettext`` of the source locale (zh-CN): a msgid is its own translation."""
    return message


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> gettext.NullTranslations:
    """The catalogue of ``locale``; zh-CN (and anything unknown) is the source."""
    if locale != EN:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    path = LOCALE_DIR / EN / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale="en")
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@lru_cache(maxsize=2 * len(LOCALES))
def translator(locale: str) -> Gettext:
    """``gettext`` of ``locale``: a msgid in, the words of that locale out.

    An empty message stays empty (plain gettext answers "" with the catalogue's
    header), so a missing label can be passed through safely.
    """
    gettext = translations(normalize(locale) or DEFAULT).gettext

    def translate(message: str) -> str:
        return gettext(message) if message else message

    return translate


def normalize(value: str | None) -> str | None:
    """``value`` as one of LOCALES (``en-GB`` -> en, ``zh_Hans_CN`` -> zh-CN)."""
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip().lower(), maxsplit=1)[0]
    return {"zh": ZH, "en": EN}.get(primary)


def from_accept_language(header: str | None) -> str | None:
    """The supported locale the browser prefers most; Chinese wins a tie."""
    best: tuple[float, int, str] | None = None
    for part in (header or "").split(","):
        tag, _, params = part.strip().partition(";")
        locale = normalize(tag)
        if locale is None:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        rank = (q, 1 if locale == ZH else 0, locale)
        if best is None or rank > best:
            best = rank
    return best[2] if best else None


def negotiate(
    query: str | None, cookie: str | None, accept_language: str | None
) -> str:
    """``?lang=`` first, then the cookie it set, then Accept-Language, else zh-CN."""
    return (
        normalize(query)
        or normalize(cookie)
        or from_accept_language(accept_language)
        or DEFAULT
    )
