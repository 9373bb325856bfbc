"""Background servers the playground starts for a learner: recorded by PID, stopped by PID.

A server runs in its own session (process group), so stopping it also stops its workers. Its
record (`<name>.json`: pid, port, program) is trusted only while that PID still runs the recorded
program, so a PID reused by something else is never signalled.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from playground.config.files import write_private
from playground.services.net import port_free


@dataclass(frozen=True)
class Status:
    """Whether a server runs, and a line that says where (or how to start it)."""

    running: bool
    detail: str


def spawn(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `command` in its own session, its output appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # fmt: skip


def peak_rss(pid: int | None = None, *, children: bool = False) -> int:
    """Peak resident memory in bytes, as the OS counts it; 0 when it cannot tell.

    Of process `pid` (Linux: its VmHWM, readable while it runs), of this process (pid None), or,
    with `children=True`, of the largest child this process has waited for (`ru_maxrss`: on
    Linux it also counts pages a child inherited from this process before exec).
    """
    if pid is not None and not children:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0
    import resource  # not on Windows; only the measurements need it

    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    peak = resource.getrusage(who).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS counts bytes, Linux KiB


def record(path: Path, pid: int, port: int, program: str) -> None:
    write_private(path, json.dumps({"pid": pid, "port": port, "program": program}))


def _valid(found: object) -> bool:
    return (
        isinstance(found, dict)
        and isinstance(found.get("pid"), int) and found["pid"] > 1
        and isinstance(found.get("port"), int)
        and isinstance(found.get("program"), str) and found["program"].strip() != ""
    )  # fmt: skip


def running(path: Path, warn=None) -> dict | None:
    """The recorded process if it still runs the recorded program (a stale record is removed).

    A record that is not a whole, valid record (truncated, garbage, an empty program or a PID of
    1 or less) is stale: removed with one line through `warn`, and never signalled.
    """
    try:
        found = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        found = None
    if not _valid(found):
        (warn or _warn)(f"ignoring {path}: not a valid record of a server (removed)")
        path.unlink(missing_ok=True)
        return None
    try:
        alive = found["program"] in " ".join(psutil.Process(found["pid"]).cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        alive = False
    if not alive:
        path.unlink(missing_ok=True)
    return found if alive else None


def _warn(line: str) -> None:
    print(f"note: {line}", file=sys.stderr)


def ended(pid: int) -> bool:
    """Whether `pid` has exited: gone, or a zombie not reaped yet (a server whose parent has
    exited is reaped by init, which on some machines takes a second or two)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:  # another user's: it runs
        return False


def wait_ended(pid: int, timeout: float) -> bool:
    """Wait up to `timeout` seconds for `pid` to exit (`ended`); whether it did."""
    deadline = time.monotonic() + timeout
    while not ended(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _group(pgid: int) -> list[int]:
    """The processes of group `pgid`: a server and the workers it started."""
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid:
                members.append(process.pid)
        except OSError:  # gone meanwhile, or not ours to ask
            pass
    return members


def _wait_free(port: int | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while port is not None and not port_free(port) and time.monotonic() < deadline:
        time.sleep(0.05)


def _reap(pid: int) -> None:
    """Collect `pid`'s exit status if it is this process's child (so no zombie is left)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # started by another process (`playground stack up`)
        pass


def stop(pid: int, grace: float = 20, port: int | None = None) -> None:
    """Stop the server started with `pid` (its whole process group): SIGTERM, then SIGKILL.
    It is stopped once every process of the group has exited and, given its `port`, once that
    port is free again (the kernel closes a listening socket a moment after its process ends)."""
    members = _group(pid) or [pid]
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(pid)
        if all(ended(member) for member in members):
            _reap(pid)
            _wait_free(port, min(5.0, deadline - time.monotonic()))
            return
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def kill_at_line(
    command: list[str], marker: str, extra_wait: float = 0.3, cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> list[str]:  # fmt: skip
    """Run `command`, kill -9 it once a line of its output matches the regex `marker` (and
    `extra_wait` seconds more); the lines it printed. Raises RuntimeError if it ends before."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    seen: list[str] = []
    try:
        for line in process.stdout:
            seen.append(line.rstrip("\n"))
            if re.search(marker, line):
                break
        else:
            raise RuntimeError(f"{' '.join(command[:6])} ended before printing {marker!r}")
        time.sleep(extra_wait)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    return seen
