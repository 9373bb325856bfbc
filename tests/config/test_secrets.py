"""Secrets of a data directory: generated once, under a lock, by real concurrent processes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from playground.config import secrets

# Each child waits for the start file, then reads its settings (which makes the secrets).
CHILD = """
import os, sys, time
from playground.config.settings import get_settings
while not os.path.exists(sys.argv[1]):
    time.sleep(0.0005)
settings = get_settings()
print("|".join(getattr(settings, field) for field in sorted(sys.argv[2:])))
"""


def _first_starts(data: Path, go: Path, count: int = 8) -> list[str]:
    """What `count` processes, started on a new data directory at the same moment, read."""
    env = {**os.environ, "PLAYGROUND_DATA_DIR": str(data)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(go), *secrets.GENERATED],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(count)
    ]
    time.sleep(3)  # every child has imported the library and waits for the start file
    go.touch()
    seen = [child.communicate(timeout=60)[0].strip() for child in children]
    assert all(child.returncode == 0 for child in children), seen
    return seen


def test_first_starts_at_once_get_the_same_secrets(tmp_path: Path) -> None:
    # two rounds: without the lock, one round of 8 got two sets about half the time here
    for round_ in ("one", "two"):
        data = tmp_path / round_
        seen = _first_starts(data, tmp_path / f"go-{round_}")
        assert len(set(seen)) == 1, f"{len(set(seen))} different sets of secrets"
        stored = secrets.load(data)
        assert seen[0] == "|".join(stored[field] for field in sorted(secrets.GENERATED))
        assert all(len(value) >= 24 for value in stored.values())
        assert stat.S_IMODE((data / secrets.LOCK_NAME).stat().st_mode) == 0o600


def test_a_missing_secret_is_added_and_the_others_kept(tmp_path: Path) -> None:
    file = secrets.path(tmp_path)
    file.write_text("PLAYGROUND_PG_PASSWORD=kept-password-of-this-install\n")
    values = secrets.load(tmp_path)
    assert values["pg_password"] == "kept-password-of-this-install"
    assert all(values.values()) and secrets.load(tmp_path) == values
