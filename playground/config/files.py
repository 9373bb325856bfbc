"""Files only their owner reads, written whole or not at all (no heavy imports)."""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# What `private_umask` takes away from every new file and folder: all access by group and others.
PRIVATE_UMASK = 0o077
# Written in the data directory once every file in it has been made private (`make_private`).
MARKER = ".private"


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


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an advisory lock on `lock_file` (created 0600): one holder at a time across threads
    and processes (two terminals, two test workers); released when the file is closed, even by a
    kill -9."""
    try:
        import fcntl  # lazy: POSIX only (Linux and macOS), absent on Windows
    except ImportError:  # Windows: no advisory locks of this kind
        yield
        return
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def private_dir_mode() -> int:
    """The data directory's mode: owner only; as root others may pass through (not list), so the
    server's `pgserver` user reaches its own folder inside."""
    return 0o711 if os.geteuid() == 0 else 0o700


def private_umask() -> None:
    """From now on this process and its children create files and folders for their owner only
    (DuckDB, SQLite, PyIceberg, Dagster and dbt write with the process's umask), whatever
    umask the learner's shell has: group and other bits are taken away, none is added."""
    if hasattr(os, "umask"):  # not on Windows
        os.umask(os.umask(PRIVATE_UMASK) | PRIVATE_UMASK)


def make_private(data_dir: Path, skip: tuple[str, ...] = ("pgdata",)) -> None:
    """Take group and other access away from every file and folder under `data_dir` that this
    user owns, once (written before `private_umask` existed); then leave a marker.

    `skip`: folders managed by their own server (PostgreSQL keeps `pgdata` 0700 itself; as root
    it belongs to the `pgserver` user). Symbolic links are not followed.
    """
    marker = data_dir / MARKER
    if not hasattr(os, "geteuid") or marker.exists():
        return
    uid = os.geteuid()
    for root, folders, files in os.walk(data_dir):
        if Path(root) == data_dir:
            folders[:] = [name for name in folders if name not in skip]
        for name in (*folders, *files):
            _drop_others(Path(root) / name, uid)
    write_private(marker, "every file here is private to its owner\n")


def _drop_others(path: Path, uid: int) -> None:
    try:
        info = path.lstat()
        if info.st_uid == uid and not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o077:
            path.chmod(stat.S_IMODE(info.st_mode) & ~0o077)
    except FileNotFoundError:
        pass  # removed meanwhile (a writer's temporary file)


# How each writer reports a full disk: the OS's ENOSPC (Python, pyarrow), DuckDB's IO error and
# SQLite's SQLITE_FULL
_FULL_MESSAGES = ("No space left on device", "database or disk is full")
_QUOTED_PATH = re.compile(r"""["'](/[^"']+)["']""")


def disk_full(exc: BaseException, where: object = "the data directory") -> str | None:
    """One line saying the disk is full, with the path written to (else `where`), when `exc`
    (or an error it was raised from) is a write that found no space left; else None."""
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        text = str(error)
        if (isinstance(error, OSError) and error.errno == errno.ENOSPC) or any(
            message in text for message in _FULL_MESSAGES
        ):
            path = getattr(error, "filename", None) or _path_in(text) or where
            return f"disk full at {path}: free space and rerun"
        error = error.__cause__ or error.__context__
    return None


def _path_in(text: str) -> str | None:
    found = _QUOTED_PATH.search(text)
    return found.group(1) if found else None
