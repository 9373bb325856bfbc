"""Files only their owner reads, written whole or not at all (no heavy imports)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(target: Path, text: str) -> None:
    """Write `text` to `target` through a temporary file renamed over it, mode 0600: a reader
    sees the old file or the new one, never half of one, and no other user can read it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)  # 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def private_dir_mode() -> int:
    """The data directory's mode: owner only; as root others may pass through (not list), so the
    server's `pgserver` user reaches its own folder inside."""
    return 0o711 if os.geteuid() == 0 else 0o700
