"""Where writers stage files before a commit, named so that `playground clean` can tell a live
writer's files from a killed one's: `data/extract-<time>-p<pid>-h<host>-<random>/` under the table.

The host tells a process of this machine (whose PID can be checked) from one elsewhere (another
machine or a container sharing the bucket), whose files are never judged from here.
"""

from __future__ import annotations

import os
import re
import socket
import time
import uuid
from dataclasses import dataclass

import psutil

STAGING_PREFIX = "extract-"
# names written before the host was recorded have no `h<host>-` part
_NAME = re.compile(
    r"^extract-\d{8}-\d{6}-p(?P<pid>\d+)-(?:h(?P<host>[A-Za-z0-9._-]+)-)?[0-9a-f]{8}$"
)
# a process created this long after a file was written cannot have written it (clock rounding)
_SLACK = 2.0


def host_tag() -> str:
    """This machine's name as it appears in staging folder names."""
    return re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "unknown"


def staging_folder_name() -> str:
    """A new folder name for this process's staged files."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"{STAGING_PREFIX}{stamp}-p{os.getpid()}-h{host_tag()}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Writer:
    """The process named by a staging folder."""

    pid: int
    host: str | None  # None: a name from before the host was recorded (taken as this machine)

    @property
    def here(self) -> bool:
        return self.host is None or self.host == host_tag()


def writer_of(folder_name: str) -> Writer | None:
    """The writer an `extract-...` folder name records, or None for a name of unknown layout."""
    match = _NAME.match(folder_name)
    return Writer(int(match["pid"]), match["host"]) if match else None


def started(writer: Writer, first_write: float) -> float | None:
    """When the writer of files first written at `first_write` (epoch seconds) started, if it
    still runs on this machine; None once it is gone.

    A PID now held by a process started after the files were written is another process (the
    PID was reused); a zombie (killed, not yet reaped) writes nothing. A process of another user
    that cannot be inspected counts as running.
    """
    try:
        process = psutil.Process(writer.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        created = process.create_time()
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:
        return first_write
    return created if created <= first_write + _SLACK else None
