"""Private files and folders: owner-only whatever the learner's umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

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
