"""Private files and folders: owner-only whatever the learner's umask."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from playground.config import files

# Run in a child: the umask is the whole process's.
CHILD = """
import os, sys
from pathlib import Path
os.umask(0o002)  # a learner's shell with a permissive umask
from playground.config.settings import get_settings
data = get_settings().data_dir
(data / "made-after").write_text("x")
(data / "folder-after").mkdir()
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_files_written_after_reading_settings_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "PLAYGROUND_DATA_DIR": str(data)}
    subprocess.run([sys.executable, "-c", CHILD], env=env, check=True, timeout=60)
    assert _mode(data / "made-after") == 0o600
    assert _mode(data / "folder-after") == 0o700


def test_an_older_data_directory_is_made_private_once(tmp_path: Path) -> None:
    old = tmp_path / "data"
    (old / "warehouse" / "t").mkdir(parents=True)
    (old / "warehouse" / "t" / "part.parquet").write_text("rows")
    (old / "catalog.db").write_text("catalog")
    (old / "pgdata").mkdir()
    (old / "pgdata" / "kept").write_text("the server's own")
    for path in (old / "warehouse", old / "warehouse" / "t", old / "pgdata"):
        path.chmod(0o755)
    for path in (old / "warehouse" / "t" / "part.parquet", old / "catalog.db",
                 old / "pgdata" / "kept"):  # fmt: skip
        path.chmod(0o644)
    outside = tmp_path / "outside.txt"
    outside.write_text("not the playground's")
    outside.chmod(0o644)
    (old / "link").symlink_to(outside)
    files.make_private(old)
    assert _mode(old / "warehouse") == _mode(old / "warehouse" / "t") == 0o700
    assert _mode(old / "warehouse" / "t" / "part.parquet") == _mode(old / "catalog.db") == 0o600
    assert _mode(old / "pgdata" / "kept") == 0o644  # PostgreSQL's folder is left to PostgreSQL
    assert _mode(outside) == 0o644  # a link is not followed
    assert (old / files.MARKER).is_file()
    (old / "catalog.db").chmod(0o644)
    files.make_private(old)  # once: the marker stops a second walk
    assert _mode(old / "catalog.db") == 0o644


# --- a full disk, for real: a 4 MB tmpfs mounted in a user namespace of our own ----------------

FILL_SQLITE = """
import os, sys
from playground.config.files import disk_full
from playground.config.settings import get_settings
from playground import lakehouse
settings = get_settings()
catalog = lakehouse.catalog(settings)  # catalog.db made while there is room
fd = os.open(settings.data_dir / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
try:
    while True:
        os.write(fd, bytes(65536))
except OSError:
    os.close(fd)
try:
    for i in range(1000):
        catalog.create_namespace(f"n{i:04d}_" + "x" * 200)
except Exception as exc:
    print(disk_full(exc, settings.data_dir))
"""


def _in_a_small_filesystem(
    tmp_path: Path, command: list[str], path: str | None = None
) -> subprocess.CompletedProcess:
    """Run `command` with PLAYGROUND_DATA_DIR on a 4 MB tmpfs of its own (unshare -rm: no root
    needed where unprivileged user namespaces are allowed); skip where that cannot be made."""
    import shlex
    import shutil

    mount = tmp_path / "small disk"
    mount.mkdir()
    if sys.platform != "linux" or shutil.which("unshare") is None:
        pytest.skip("a small file system of our own needs Linux's unshare")
    probe = subprocess.run(["unshare", "-rm", "mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs",
                            str(mount)], capture_output=True, text=True, check=False)  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a user namespace here: {probe.stderr.strip()}")
    script = (f"mount -t tmpfs -o size=4m tmpfs {shlex.quote(str(mount))} && "
              f"exec {shlex.join(command)}")  # fmt: skip
    env = {**os.environ, "PLAYGROUND_DATA_DIR": str(mount / "My Data #1 é")}
    if path is not None:
        env["PATH"] = f"{path}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], env=env, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip


@pytest.fixture
def tcp_source(settings) -> Iterator[str]:
    """A URL with a password for the suite's PostgreSQL over 127.0.0.1 (a user namespace
    cannot enter the socket folder of a server run by another user)."""
    import secrets as random
    import uuid

    from playground.services import postgres

    role, password = f"full_{uuid.uuid4().hex[:8]}", random.token_urlsafe(16)
    with postgres.connect("postgres", settings, autocommit=True) as conn:
        conn.execute(f"create role {role} login password '{password}'")  # generated names
    port = postgres.running(settings).port
    yield f"postgresql://{role}:{password}@127.0.0.1:{port}/postgres"
    with postgres.connect("postgres", settings, autocommit=True) as conn:
        conn.execute(f"drop role {role}")


@pytest.mark.parametrize("method", ["duckdb", "pandas-chunks"])
def test_a_full_disk_is_one_line_naming_the_path(method, tmp_path, tcp_source) -> None:
    from tests.helpers import BIN

    rows = "select g as id, md5(g::text) || md5((-g)::text) as noise "
    rows += "from generate_series(1, 400000) g"  # about 12 MB of Parquet: more than the disk
    # then, still inside the namespace, count the Parquet files the failed run left
    after = 'playground "$@"; failed=$?; find "$PLAYGROUND_DATA_DIR" -name "*.parquet" | wc -l; '
    command = ["sh", "-c", after + "exit $failed", "sh", "extract", "--query", rows,
               "--source", tcp_source, "--to", "full.t", "--method", method]  # fmt: skip
    done = _in_a_small_filesystem(tmp_path, command, path=str(BIN))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-3000:]
    assert re.fullmatch(r"playground extract: disk full at /.*small disk.*: free space and rerun",
                        lines[0]), lines  # fmt: skip
    assert urlsplit(tcp_source).password not in done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].strip() == "0"  # its staged files went with it


def test_sqlite_finding_the_disk_full_says_so(tmp_path) -> None:
    done = _in_a_small_filesystem(tmp_path, [sys.executable, "-c", FILL_SQLITE])
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.fullmatch(r"disk full at /.*My Data #1 é: free space and rerun\n", done.stdout)


_HOLD = """
import sys, time
from pathlib import Path
from playground.config.files import exclusive

with exclusive(Path(sys.argv[1])):
    print(f"in {time.monotonic()}", flush=True)
    time.sleep(float(sys.argv[2]))
    print(f"out {time.monotonic()}", flush=True)
"""


def test_an_exclusive_lock_holds_a_second_process_until_the_first_is_done(tmp_path) -> None:
    lock = tmp_path / "My Locks #1 é" / ".thing.lock"
    first = subprocess.Popen([sys.executable, "-c", _HOLD, str(lock), "1.5"],
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert first.stdout.readline().startswith("in ")  # the first holds it from here on
    second = subprocess.run([sys.executable, "-c", _HOLD, str(lock), "0"],
                            capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    first_out = float(first.stdout.readline().split()[1])
    first.wait(10)
    second_in = float(second.stdout.split()[1])
    assert second_in >= first_out  # CLOCK_MONOTONIC is machine-wide on Linux and macOS
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600


def test_a_lock_held_by_a_killed_process_is_free_again(tmp_path) -> None:
    lock = tmp_path / ".thing.lock"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(lock), "600"],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout.readline().startswith("in ")
    holder.kill()
    holder.wait(10)
    done = subprocess.run([sys.executable, "-c", _HOLD, str(lock), "0"],
                          capture_output=True, text=True, timeout=30, check=True)  # fmt: skip
    assert done.stdout.startswith("in ")
