"""The encoding of a Shapefile's attributes, whatever its ``.cpg`` says.

Old township Shapefiles are GBK with no ``.cpg``, or with one that says UTF-8
because a tool wrote it so. The DBF's bytes decide: valid UTF-8 is left to
GDAL; anything else is detected (GB18030 covers GBK and GB2312) and read with a
warning naming the encoding, or refused with a 422 naming ``--encoding``.
"""

from __future__ import annotations

import struct
from pathlib import Path

from gis_service.core.charsets import SAMPLE, detect, detected_warning, is_utf8
from gis_service.core.errors import InvalidInput

UTF8_NAMES = {"utf8", "utf-8", "65001"}


def dbf_encoding(shp: Path) -> tuple[str | None, list[str]]:
    """The encoding to read ``shp``'s attributes in (None: as GDAL decides)."""
    dbf = next(
        (p for p in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if p.exists()),
        None,
    )
    if dbf is None:
        return None, []
    with dbf.open("rb") as handle:
        head = handle.read(32)
        if len(head) < 32:
            return None, []
        header_len = struct.unpack("<H", head[8:10])[0]
        handle.seek(32)
        names = handle.read(max(header_len - 32, 0))  # field names may be Chinese
        body = handle.read(SAMPLE)
    sample = names + body
    if is_utf8(sample):
        return None, []
    declared = _cpg(shp)
    if declared is not None and declared.lower() not in UTF8_NAMES:
        return None, []  # a .cpg naming a non-UTF-8 encoding: GDAL honours it
    found = detect(sample)
    if found is None:
        raise InvalidInput(
            "the Shapefile's attributes are not UTF-8 and their encoding cannot be "
            "told; pass --encoding GBK (API: encoding=GBK) or the encoding it was "
            "saved in",
            errors=[{"field": "encoding", "reason": "not UTF-8; give --encoding"}],
        )
    what = "the Shapefile's attributes" + (
        " (its .cpg says UTF-8)" if declared else " (it has no .cpg)"
    )
    return found, [detected_warning(what, found)]


def _cpg(shp: Path) -> str | None:
    """What the ``.cpg`` beside ``shp`` declares, if there is one."""
    for suffix in (".cpg", ".CPG"):
        path = shp.with_suffix(suffix)
        if path.exists():
            return path.read_text("ascii", errors="replace").strip() or None
    return None
