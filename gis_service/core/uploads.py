"""Where uploads wait while they are read: a private directory, swept at start.

Each request gets ``gridgis-upload-<pid>-*`` under a 0700 directory of its own;
a server killed mid-import leaves its folder behind, so at start every folder
whose process is gone is removed (folders of live workers are kept).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from gis_service.core.settings import LimitSettings

logger = logging.getLogger(__name__)

PREFIX = "gridgis-upload-"
_OWNER = re.compile(rf"^{PREFIX}(\d+)-")


def upload_root(limits: LimitSettings) -> Path:
    """The private directory uploads are streamed into (created 0700)."""
    root = limits.upload_dir or Path(tempfile.gettempdir()) / f"gridgis-{os.getuid()}"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    root.chmod(0o700)
    return root


def new_upload_folder(limits: LimitSettings) -> Path:
    """A fresh folder for one request's upload, named after this process."""
    prefix = f"{PREFIX}{os.getpid()}-"
    return Path(tempfile.mkdtemp(prefix=prefix, dir=upload_root(limits)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_uploads(limits: LimitSettings) -> int:
    """Remove upload folders left by processes that are gone; return how many."""
    removed = 0
    for folder in upload_root(limits).iterdir():
        owner = _OWNER.match(folder.name)
        if owner is None or _alive(int(owner.group(1))):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    if removed:
        logger.info("removed %d upload folders left by stopped servers", removed)
    return removed
