"""Small helpers shared by the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from playground.services.net import free_port  # noqa: F401 - the tests' name for it

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


# The addresses a server may listen on (the last: Java's IPv4 loopback on an IPv6 socket)
LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


def listening(pids: set[int]) -> list[tuple[int, str, int]]:
    """(pid, address, port) of every TCP socket the processes (and their children) listen on."""
    import psutil

    family = set(pids)
    for pid in pids:
        try:
            family |= {child.pid for child in psutil.Process(pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            pass
    return [
        (c.pid, c.laddr.ip, c.laddr.port)
        for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.pid in family
    ]


def exited(pid: int) -> bool:
    """Whether the process has ended: gone, or a zombie (ended; its parent, or init for a
    daemon such as PostgreSQL's postmaster, has not collected its exit status yet)."""
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def settings_env(settings) -> dict[str, str]:
    """`settings` as the PLAYGROUND_* variables a child process reads them from."""
    from playground.config.settings import as_environment

    return as_environment(settings)


def run(command: list[str], env: dict[str, str] | None = None, timeout: float = 300, **kwargs):
    """Run a command from the project root and return the completed process (text output)."""
    return subprocess.run(
        command,
        cwd=kwargs.pop("cwd", ROOT),
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )


@contextmanager
def pipeline_on(database: str, scale: float, seed_value: int):
    """pagila seeded into `database` (the configured one meanwhile), materialized once by the
    pagila_daily job into an ephemeral Dagster instance; yields (stages, instance)."""
    import dagster as dg
    import pytest

    from playground.config.settings import get_settings
    from playground.datasets.pagila import seed
    from playground.orchestration import pipeline

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLAYGROUND_PAGILA_DB", database)
        seed.seed(scale, seed_value, database=database, progress=lambda _line: None)
        instance = dg.DagsterInstance.ephemeral()
        stages = pipeline.materialize_pagila(get_settings(), instance, progress=lambda _: None)
        yield stages, instance


# A progress line `playground extract` prints every 2 s while it writes files (never its last line)
EXTRACT_PROGRESS = r"^\s+[\d,]+ rows\s"


def kill_when(command: list[str], marker: str, extra_wait: float = 0.3) -> None:
    """Run `command` from the project root, kill -9 it once a line of its output matches the
    regex `marker` (and `extra_wait` seconds more); fail if it ends before."""
    from playground.services.processes import kill_at_line

    kill_at_line(command, marker, extra_wait, cwd=ROOT)


def run_lesson_without(
    lesson: str, line: str, folder: Path, env: dict[str, str] | None = None, instead: str = ""
) -> subprocess.CompletedProcess:
    """Run lesson `lesson` headless from a copy under `folder`/"My Lessons #1 é" with `line`
    deleted (or replaced by `instead`), as a learner's edit of that cell would leave it (TZ far
    from UTC, and `env`)."""
    from playground.orchestration.promote import lessons_dir

    shipped = (lessons_dir() / f"{lesson}.py").read_text()
    assert shipped.count(line) == 1, f"{lesson} no longer holds the line the edit deletes"
    edited = folder / "My Lessons #1 é" / f"{lesson}.py"
    edited.parent.mkdir()
    edited.write_text(shipped.replace(line, instead))
    env = {"TZ": "Asia/Kathmandu", **(env or {})}
    result = run([sys.executable, str(edited)], env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result
