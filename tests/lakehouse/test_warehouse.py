"""Who may write the warehouse: one pipeline run per data directory, the holder named."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from playground.config.settings import get_settings
from playground.lakehouse import warehouse
from playground.orchestration import pipeline

HOLD = """
import sys, time
from pathlib import Path
from playground.lakehouse import warehouse
with warehouse.exclusive(Path(sys.argv[1]), "holding it for a test"):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path):
    """A child process holding a lock file; yields (path, its PID)."""
    started = []

    def hold(path):
        child = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE,
                                 text=True)  # fmt: skip
        assert child.stdout.readline().strip() == "held"
        started.append(child)
        return child.pid

    yield hold
    for child in started:
        child.kill()
        child.wait(10)


def test_a_second_holder_is_told_who_holds_the_lock(tmp_path, holder) -> None:
    lock = tmp_path / "pipeline.lock"
    pid = holder(lock)
    with pytest.raises(warehouse.WarehouseLocked, match=rf"PID {pid} .* is holding it for a test"):
        with warehouse.exclusive(lock, "a second run"):
            pass


def test_the_lock_goes_with_its_process(tmp_path) -> None:
    lock = tmp_path / "pipeline.lock"
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE,
                             text=True)  # fmt: skip
    assert child.stdout.readline().strip() == "held"
    child.kill()  # a run killed with -9 leaves its lock file, but not its lock
    child.wait(10)
    with warehouse.exclusive(lock, "the next run"):
        assert lock.read_text().startswith(f"PID {os.getpid()} ")


def test_two_pipeline_runs_at_once_the_second_names_the_first(holder) -> None:
    pid = holder(get_settings().data_dir / "pipeline.lock")
    started = time.monotonic()
    with pytest.raises(pipeline.PipelineError, match=rf"PID {pid} .* is holding it for a test"):
        pipeline.materialize_pagila(progress=lambda _line: None)
    assert time.monotonic() - started < 60  # refused at once, not after the first one's work
