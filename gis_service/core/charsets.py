"""Text that is not UTF-8: Chinese Excel saves CSV as GBK, old Shapefiles too.

Strict UTF-8 is tried first (a GBK text is almost never valid UTF-8); otherwise
charset-normalizer names the encoding, and a Chinese one (GB2312/GBK/GB18030,
read as GB18030, their superset; Big5) is used with a warning that names it.
Anything else is a 422 naming ``--encoding``: never a 500, never mojibake.
"""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from gis_service.core.errors import InvalidInput

CHINESE = {"gb2312": "GB18030", "gbk": "GB18030", "gb18030": "GB18030",
           "hz": "GB18030", "big5": "Big5", "big5hkscs": "Big5"}  # fmt: skip
SAMPLE = 1 << 20  # bytes looked at to decide


def is_utf8(data: bytes) -> bool:
    """Whether ``data`` (perhaps cut mid-character at the end) is UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(data) - 3 and exc.reason == "unexpected end of data"
    return True


def detect(data: bytes) -> str | None:
    """The Chinese encoding ``data`` is in (GB18030 or Big5), or None."""
    best = from_bytes(data[:SAMPLE]).best()
    found = None
    if best is not None:
        name = codecs.lookup(best.encoding).name.replace("-", "").replace("_", "")
        found = CHINESE.get(name)
    if found is None and _decodes(data[:SAMPLE], "gb18030"):
        found = "GB18030"  # short samples look like anything; GB18030 is likelier
    return found


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        return exc.start >= len(data) - 3
    return True


def encoding_advice(what: str) -> InvalidInput:
    """The 422 for text whose encoding cannot be told."""
    return InvalidInput(
        f"cannot tell the encoding of {what}: it is not UTF-8; pass --encoding "
        "GBK (API: encoding=GBK) or the encoding it was saved in",
        errors=[{"field": "encoding", "reason": "not UTF-8; give --encoding"}],
    )


def decode(data: bytes, encoding: str | None, what: str) -> tuple[str, list[str]]:
    """``data`` as text and a warning when its encoding had to be detected."""
    if encoding:
        try:
            return data.decode(encoding).removeprefix("\ufeff"), []
        except (UnicodeDecodeError, LookupError):
            raise InvalidInput(
                f"cannot decode {what} as {encoding}; try --encoding GB18030 or UTF-8",
                errors=[{"field": "encoding", "reason": "wrong or unknown encoding"}],
            ) from None
    if is_utf8(data):
        return data.decode("utf-8-sig"), []
    found = detect(data)
    if found is None:
        raise encoding_advice(what)
    try:
        text = data.decode(found)
    except UnicodeDecodeError:
        raise encoding_advice(what) from None
    return text, [detected_warning(what, found)]


def detected_warning(what: str, found: str) -> str:
    """What the report says when an encoding was detected, not declared."""
    return (
        f"{what} is not UTF-8; read as {found} (detected); pass --encoding if the "
        "text looks wrong"
    )
