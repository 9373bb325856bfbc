"""The DuckDB warehouse file `<data dir>/playground.duckdb`: who may write it, who holds it."""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb


class WarehouseLocked(RuntimeError):
    """Another process holds the warehouse file open for writing; the message names it."""


def check_writable(path: Path) -> None:
    """Raise `WarehouseLocked` naming the holder if another process has `path` open.

    DuckDB allows one writing process per file (or many read-only ones, but not both). dbt needs
    to write, so a notebook or BI tool holding the file open would make it fail halfway.
    """
    if not path.exists():
        return
    try:
        duckdb.connect(str(path)).close()
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" not in text.lower():
            raise
        raise WarehouseLocked(
            f"the warehouse {path} is open in another process, so dbt cannot write it "
            f"({text.strip().splitlines()[0]}). Close that notebook or tool, or stop the process "
            "named above (a read-only connection blocks a writer too), and run again."
        ) from None


@contextmanager
def exclusive(path: Path, what: str) -> Iterator[None]:
    """Hold `path` (a lock file) for this process while the block runs, or raise `WarehouseLocked`
    naming the process that holds it and `what` it said it was doing. The lock is the kernel's
    (flock): it goes away with its process, so a killed run never leaves a stale one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 400, 0).decode(errors="replace").strip()
        os.close(fd)
        raise WarehouseLocked(
            f"{holder or 'another process holds it'} (lock {path}); wait for it to finish, or "
            "stop it, then run again."
        ) from None
    try:
        os.ftruncate(fd, 0)
        command = " ".join(sys.argv)[:120]
        os.pwrite(fd, f"PID {os.getpid()} ({command}) is {what}".encode(), 0)
        yield
    finally:
        os.ftruncate(fd, 0)
        os.close(fd)  # releases the lock
