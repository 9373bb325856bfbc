"""Where writers stage files before a commit, named so that `playground clean` can tell a live
writer's files from a killed one's: `data/extract-<time>-p<pid>-<random>/` under the table."""

from __future__ import annotations

import os
import re
import time
import uuid

STAGING_PREFIX = "extract-"


def staging_folder_name() -> str:
    """A new folder name for this process's staged files."""
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-p{os.getpid()}-{uuid.uuid4().hex[:8]}"
    return f"{STAGING_PREFIX}{stamp}"


def staging_pid(folder_name: str) -> int | None:
    """The PID of the process that staged an `extract-...-p<pid>-...` folder."""
    match = re.search(r"-p(\d+)-", folder_name)
    return int(match.group(1)) if match else None
