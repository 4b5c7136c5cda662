"""Zip archives judged from their central directory before anything is inflated.

A 1 MB zip can inflate to gigabytes and a member may be named to land outside
the extraction folder; both are refused from the directory alone (sizes, ratio,
count, names, symlink bits), then each member is streamed out no further than
the size it declared.
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from gis_service.core.errors import InvalidInput
from gis_service.core.settings import LimitSettings

_DRIVE = re.compile(r"^[A-Za-z]:")
_RATIO_FLOOR = 1024 * 1024  # small members may compress absurdly well (zeros)


def _unsafe(member: str, why: str) -> InvalidInput:
    return InvalidInput(
        f"unsafe archive member {member!r}: {why}",
        errors=[{"field": "file", "member": member, "reason": "unsafe archive member"}],
    )


def _too_big(what: str, value: float, limit: float) -> InvalidInput:
    return InvalidInput(
        f"the archive {what} is {value:g}; the limit is {limit:g}",
        errors=[
            {
                "field": "file",
                "reason": f"archive {what}",
                "limit": limit,
                "value": value,
            }
        ],
    )


def _check_name(info: zipfile.ZipInfo) -> None:
    name = info.filename
    if "\\" in name:
        raise _unsafe(name, "backslash in the name")
    if name.startswith("/") or _DRIVE.match(name):
        raise _unsafe(name, "absolute path")
    if ".." in PurePosixPath(name).parts:
        raise _unsafe(name, "'..' in the path")
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_ISLNK(mode):
        raise _unsafe(name, "symbolic link")


def checked_members(
    archive: zipfile.ZipFile, limits: LimitSettings
) -> list[zipfile.ZipInfo]:
    """Every member, after the whole directory passed the caps and name rules."""
    members = archive.infolist()
    if len(members) > limits.zip_max_members:
        raise _too_big("member count", len(members), limits.zip_max_members)
    total = 0
    for info in members:
        _check_name(info)
        total += info.file_size
        if info.file_size > _RATIO_FLOOR:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.zip_max_ratio:
                raise _too_big(
                    f"compression ratio of {info.filename!r}",
                    round(ratio, 1),
                    limits.zip_max_ratio,
                )
    if total > limits.zip_max_bytes:
        raise _too_big("uncompressed size (bytes)", total, limits.zip_max_bytes)
    return members


def extract_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path
) -> None:
    """Stream one member to ``target`` (zipfile stops at the declared size)."""
    with archive.open(info) as source, target.open("wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
