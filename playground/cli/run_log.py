"""`playground run`'s terminal: a few lines of progress on the screen, the detail in a log file.

Everything the run's libraries and servers write (Dagster's event log, dbt's lines, the seed's
tables, the servers' logs and warnings) goes to `<data dir>/logs/run.log` (the start before in
`run.previous.log`), readable by its owner only; the terminal shows what the learner needs:
each step, its time, the URLs and the errors.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# `make install` writes its detail here (the virtualenv's own folder, which exists before the
# playground is installed); the next run moves it to the top of its log.
INSTALL_LOG = "install.log"

Say = Callable[[str], None]


def path(data_dir: Path) -> Path:
    """The run's log file."""
    return data_dir / "logs" / "run.log"


def _open_log(log: Path, installed: Path) -> int:
    """The log, new (this start's detail only; the last start's kept beside it as
    `run.previous.log`), its folder and file private; the install's log, if one is waiting,
    moved to its top."""
    log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if log.is_file():
        os.replace(log, log.with_name(f"{log.stem}.previous{log.suffix}"))
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)  # a file an older version left with other modes
    if installed.is_file():  # the install before this start belongs to its log
        os.write(fd, b"=== make install ===\n" + installed.read_bytes())
        installed.unlink()
    os.write(fd, f"=== playground run, {time.strftime('%Y-%m-%d %H:%M:%S %z')} ===\n".encode())
    return fd


@contextmanager
def detail_to(log: Path, installed: Path | None = None) -> Iterator[Say]:
    """Send this process's stdout and stderr, and those of every child it starts, to `log`;
    yield `say`, which writes one line to the terminal. The terminal is given back on exit, so
    an error raised from inside reaches the learner. `installed`: the install's log (default
    `make install`'s, in the virtualenv)."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    fd = _open_log(log, installed or Path(sys.prefix) / INSTALL_LOG)
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved[0]), "w", buffering=1, encoding="utf-8")
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)

    def say(line: str) -> None:
        print(line, file=terminal, flush=True)

    try:
        yield say
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for kept in saved:
            os.close(kept)
        terminal.close()


def duration(seconds: float) -> str:
    """`42 s`, `1 min 45 s`: a time a learner reads at a glance."""
    whole = round(seconds)
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60:02d} s"
