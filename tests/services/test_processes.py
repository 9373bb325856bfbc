"""State files of the servers the playground starts: written whole, never trusted when broken."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from playground.services import processes
from tests.helpers import BIN, run

BROKEN = {
    "truncated": '{"pid": 12',
    "garbage": "\x00\x01 not json",
    "empty program": json.dumps({"pid": os.getpid(), "port": 1, "program": ""}),
    "pid 1": json.dumps({"pid": 1, "port": 1, "program": "init"}),
    "pid 0": json.dumps({"pid": 0, "port": 1, "program": "python"}),
    "a list": "[1, 2]",
}


@pytest.mark.parametrize("content", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_record_reads_as_stale_and_is_removed(tmp_path: Path, content: str) -> None:
    path = tmp_path / "trino.json"
    path.write_text(content)
    lines: list[str] = []
    assert processes.running(path, warn=lines.append) is None
    assert not path.exists()
    assert lines == [f"ignoring {path}: not a valid record of a server (removed)"]


def test_a_record_is_written_whole_and_private(tmp_path: Path) -> None:
    path = tmp_path / "stack" / "s3.json"
    # this process runs Python whether pytest runs in it or in a worker it started
    processes.record(path, os.getpid(), 9000, "python")
    assert json.loads(path.read_text()) == {"pid": os.getpid(), "port": 9000, "program": "python"}
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["s3.json"]  # no temporary file left
    assert processes.running(path) == {"pid": os.getpid(), "port": 9000, "program": "python"}


@pytest.mark.parametrize("command", [["stack", "status"], ["stack", "down"], ["bi", "status"]])
def test_commands_survive_garbage_state(fresh_data_dir: Path, command: list[str]) -> None:
    for path in (fresh_data_dir / "stack" / "trino.json", fresh_data_dir / "superset" /
                 "superset.json"):  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"pid": ')
    done = run([str(BIN / "playground"), *command], timeout=60)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "not a valid record of a server (removed)" in done.stderr
