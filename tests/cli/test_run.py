"""`playground run` end to end, as a learner's first start (a fresh data directory, a zone that is
not UTC): the seed and the first materialization succeed, both servers answer, the UI's GraphQL
materializes the promoted lesson, and Ctrl-C stops everything it started. The terminal stays
quiet (one screen before the URLs, no DEBUG line, no warning) and the detail is in the run's log;
the marimo token is in no command line and no log."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import dagster as dg
import psutil
import pytest
from dagster_graphql import DagsterGraphQLClient

from playground import lakehouse
from playground.config.settings import get_settings
from playground.services import postgres
from tests.helpers import LOOPBACK, ROOT, free_port, listening

pytestmark = pytest.mark.slow


def _wait_for_run(client: DagsterGraphQLClient, run_id: str) -> dg.DagsterRunStatus:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id)
        if status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE):
            return status
        time.sleep(1)
    raise TimeoutError(f"run {run_id} did not finish in 300 s")


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def test_run_serves_both_uis_and_stops_cleanly(fresh_data_dir, monkeypatch) -> None:
    dagster_port, marimo_port = free_port(), free_port()
    env = {
        **os.environ,
        "PLAYGROUND_DATA_DIR": str(fresh_data_dir),
        "PLAYGROUND_DAGSTER_PORT": str(dagster_port),
        "PLAYGROUND_MARIMO_PORT": str(marimo_port),
        "TZ": "Europe/Berlin",  # a learner's first start: not in UTC, a fresh data directory
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "playground.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so a failing test can stop all of it
    )
    output: list[str] = []
    launched = time.monotonic()
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            output.append(line)
            if "Press Ctrl-C to stop." in line:
                break
        waited = time.monotonic() - launched
        text = "".join(output)
        assert "Playground is up" in text, text[-3000:]
        assert "materialized iris assets in" in text
        assert "seeding pagila (SF 1) into database 'pagila'" in text
        assert re.search(r"seeded pagila: 49,631 rows in \d+ s", text), text
        assert re.search(r"materialized pagila: 49,631 rows in \d+ s", text), text[-3000:]
        assert f"http://127.0.0.1:{dagster_port}" in text
        token = re.search(rf"http://127.0.0.1:{marimo_port}\?access_token=(\S+)", text).group(1)
        assert "`.venv/bin/playground bi start`" in text  # named, not started: it is heavy
        _assert_one_screen(text, fresh_data_dir)
        took = re.search(r"mode\), (?:(\d+) min )?(\d+) s after `playground run` started", text)
        assert took, text
        # the time it prints is the time the learner waited (less the interpreter's start)
        assert waited - 15 <= int(took.group(1) or 0) * 60 + int(took.group(2)) <= waited + 1
        log = (fresh_data_dir / "logs" / "run.log").read_text()
        assert re.search(r"rental\s+16,044 rows", log)  # the detail: the seed's tables, Dagster's
        assert " - DEBUG - " in log and "Finished running" in log  # event log and dbt's lines
        _assert_secret_nowhere(token, process.pid, fresh_data_dir)
        status, _ = _get(f"http://127.0.0.1:{marimo_port}/?access_token={token}")
        assert status == 200  # the token the terminal shows is the one marimo checks

        status, body = _get(f"http://127.0.0.1:{dagster_port}/server_info")
        assert status == 200 and b"dagster_webserver_version" in body
        status, body = _get(f"http://127.0.0.1:{marimo_port}/health")
        assert status == 200 and b"healthy" in body
        assert postgres.status().running

        # What the UI's "Materialize" button does: launch a run through the webserver's GraphQL.
        client = DagsterGraphQLClient("127.0.0.1", port_number=dagster_port)
        run_id = client.submit_job_execution(
            "__ASSET_JOB", asset_selection=[dg.AssetKey(["lessons", "tour"])]
        )
        status = _wait_for_run(client, run_id)
        assert status == dg.DagsterRunStatus.SUCCESS
        summary = lakehouse.catalog().load_table("lessons.tour_summary").scan().to_arrow()
        assert sorted(summary.column("flowers").to_pylist()) == [49, 50, 50]

        descendants = psutil.Process(process.pid).children(recursive=True)
        assert len(descendants) >= 2
        sockets = listening({process.pid, postgres.running(get_settings()).pid})
        assert {port for _, _, port in sockets} >= {dagster_port, marimo_port}
        assert [s for s in sockets if s[1] not in LOOPBACK] == []  # nothing beyond loopback
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:  # the test failed before Ctrl-C: stop what it started
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
    assert process.returncode == 0, rest[-3000:]
    assert "playground stopped" in rest
    _assert_quiet(rest)  # no leaked-semaphore warning at Ctrl-C either
    log = (fresh_data_dir / "logs" / "run.log").read_text()
    for warning in ("SupersessionWarning", "code location name", "BetaWarning", "never awaited"):
        assert warning not in text + rest + log  # silenced where they arise, not only hidden
    assert "stopped embedded PostgreSQL" in rest
    time.sleep(0.5)
    alive = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], [p.cmdline() for p in alive]
    assert not postgres.status().running


def _assert_quiet(terminal: str) -> None:
    """No DEBUG line, no warning, no server's log line on the terminal."""
    for noise in ("DEBUG", "Warning", "warnings.warn", "leaked", "Traceback", "dagster - INFO"):
        assert noise not in terminal, terminal


def _assert_one_screen(terminal: str, data_dir) -> None:
    """The start fits one screen before the URLs, and names the log that has the detail."""
    lines = terminal.splitlines()
    before = lines[: next(i for i, line in enumerate(lines) if "marimo lessons" in line)]
    # `make run` adds two lines before these on a fresh clone ("installing ...", "installed in")
    assert len(before) + 2 <= 24, "\n".join(before)
    assert f"the detail go to {data_dir / 'logs' / 'run.log'}" in before[0]
    _assert_quiet(terminal)


def _assert_secret_nowhere(token: str, pid: int, data_dir) -> None:
    """The marimo token is in no process's command line (`ps` shows them to every user) and in
    no file of the data directory; the log is the owner's only."""
    assert len(token) >= 16
    family = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    assert any("marimo" in " ".join(p.cmdline()) for p in family)
    for member in family:
        assert token not in " ".join(member.cmdline())
    for path in data_dir.rglob("*"):
        if path.is_file() and not path.is_symlink() and "pgdata" not in path.parts:
            assert token.encode() not in path.read_bytes(), path
    log = data_dir / "logs" / "run.log"
    assert log.stat().st_mode & 0o777 == 0o600
    assert log.parent.stat().st_mode & 0o077 == 0


# Run as a child: `run_log.detail_to` redirects its process's stdout and stderr.
STOP_MARIMO = """
import asyncio, json, os, secrets, sys, time
from pathlib import Path
import psutil, websockets
from playground.cli import run, run_log
from playground.services.net import free_port, wait_http

token, port = secrets.token_urlsafe(16), free_port()
with run_log.detail_to(Path(sys.argv[1]), Path(sys.argv[1]).with_name("none")) as say:
    marimo = run._spawn(run.marimo_edit(port), dict(os.environ), stdin=token)
    assert wait_http(f"http://127.0.0.1:{port}/health", 60, marimo) is not None
    before = len(psutil.Process(marimo.pid).children(recursive=True))

    async def open_lesson():  # what the browser does when a learner opens lesson 00
        url = (f"ws://127.0.0.1:{port}/ws?session_id=s_stop&file=00_tour.py"
               f"&access_token={token}")
        async with websockets.connect(url, max_size=None) as ws:
            await asyncio.wait_for(ws.recv(), 30)
            deadline = time.monotonic() + 60
            while len(psutil.Process(marimo.pid).children(recursive=True)) <= before:
                assert time.monotonic() < deadline, "no kernel started"
                await asyncio.sleep(0.5)

    asyncio.run(open_lesson())
    family = psutil.Process(marimo.pid).children(recursive=True)
    run._stop({"marimo edit": marimo}, say)
    time.sleep(1)
    alive = [p.pid for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
print(json.dumps({"kernels": len(family) - before, "alive": alive}))  # the terminal again
"""


def test_stopping_marimo_closes_the_lessons_kernels_without_a_leak(tmp_path) -> None:
    """A lesson opened in the editor has a kernel; `playground run`'s stop ends it with marimo,
    and nothing says semaphores leaked (SIGTERM to marimo's group did: 6 per lesson)."""
    import json

    log = tmp_path / "logs" / "run.log"
    env = {**os.environ, "PLAYGROUND_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-c", STOP_MARIMO, str(log)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)  # fmt: skip
    assert done.returncode == 0, done.stderr + log.read_text()[-3000:]
    said = json.loads(done.stdout.splitlines()[-1])
    assert said["kernels"] >= 1 and said["alive"] == []
    text = log.read_text()
    assert "stopping marimo edit" not in text  # said on the terminal, not in the log
    assert "leaked" not in text and "Warning" not in text, text[-3000:]


def test_run_refuses_a_busy_port(fresh_data_dir, monkeypatch) -> None:
    import socket

    from playground.cli import run

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        monkeypatch.setenv("PLAYGROUND_DAGSTER_PORT", str(busy.getsockname()[1]))
        with pytest.raises(run.RunError, match="in use.*PLAYGROUND_DAGSTER_PORT"):
            run.run()


def test_the_dagster_home_turns_off_the_first_visit_dialog(tmp_path) -> None:
    from dataclasses import replace

    from playground.config.settings import get_settings
    from playground.orchestration import instance as dagster_instance

    settings = replace(get_settings(), data_dir=tmp_path)
    old = tmp_path / "dagster" / "dagster.yaml"  # as an older version wrote it
    old.parent.mkdir()
    old.write_text("telemetry:\n  enabled: false\n")
    dagster_instance.dagster_home(settings)
    assert old.read_text() == "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"
    dagster_instance.dagster_home(settings)  # a second call changes nothing
    assert old.read_text().count("nux:") == 1
    with dagster_instance.instance(settings) as instance:  # opened from its folder, no env var
        assert instance.nux_enabled is False
        assert instance.telemetry_enabled is False
