"""Where the local stack's downloads come from and go: Maven Central, `~/.cache/playground`."""

from __future__ import annotations

import hashlib
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playground.config.files import exclusive

MAVEN = "https://repo1.maven.org/maven2"


def cache_dir() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "playground"


@contextmanager
def one_at_a_time(name: str) -> Iterator[None]:
    """Hold the cache's lock for `name`: one download or build of it at a time, across threads
    and processes (two `stack up`s at once, two test workers); the second finds it done."""
    with exclusive(cache_dir() / f".{name}.lock"):
        yield


def download(url: str, path: Path) -> str:
    """Stream `url` into `path` and return the SHA-1 of what was written (the checksum Maven
    Central publishes). OSError when it cannot be fetched; `path` is then removed."""
    digest = hashlib.sha1()  # noqa: S324 - compared with Maven Central's, not for security
    try:
        with urllib.request.urlopen(url, timeout=60) as response, path.open("wb") as out:  # noqa: S310 - https
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except OSError:
        path.unlink(missing_ok=True)
        raise
    return digest.hexdigest()
