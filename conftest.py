"""Suite-wide setup: an isolated data directory, and a guard against leftover processes.

Every test session gets its own PLAYGROUND_DATA_DIR (and DAGSTER_HOME) so the suite never touches a
learner's `.playground/`; the embedded PostgreSQL the suite starts there is stopped at the end, and
the run fails if any server or process it started is still running then.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_session_dir = tempfile.mkdtemp(prefix="playground-test-")


def _controller(config: pytest.Config) -> bool:
    """Whether this process only hands tests to pytest-xdist's workers (`make test` runs the suite
    on several): each worker sets itself up and checks its own leftovers; this one runs nothing."""
    distributed = getattr(config.option, "dist", "no") != "no" and not config.option.collectonly
    return distributed and not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if _controller(config):
        return
    os.environ["PLAYGROUND_DATA_DIR"] = str(Path(_session_dir) / "data")
    os.environ["DAGSTER_HOME"] = str(Path(_session_dir) / "dagster")
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    Path(os.environ["DAGSTER_HOME"], "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    for name in list(os.environ):
        if name.startswith("PLAYGROUND_") and name != "PLAYGROUND_DATA_DIR":
            del os.environ[name]  # a learner's shell settings must not leak into the suite
    os.environ["PLAYGROUND_ENV_FILE"] = os.devnull  # nor their .env
    # The code location loads dbt's manifest, made ahead of time (as `playground run` does).
    from playground.orchestration import dbt_project

    dbt_project.prepare(progress=lambda _line: None)


_basetemp: list[Path] = []
_builds: list = []


# Tests that share one heavy session fixture run on one worker, each group in one process:
# the stack's Trino (with its object store and REST catalog) and Superset are started once.
_SHARED = (("trino", ("trino_stack",)), ("superset", ("superset_env", "superset_running")))


def _group(item: pytest.Item) -> str:
    names = getattr(item, "fixturenames", ())
    for group, fixtures in _SHARED:
        if any(name in names for name in fixtures):
            return group
    return item.nodeid.split("::")[0]  # the module: its module-scoped fixtures start once


def _weight(item: pytest.Item, group: str) -> int:
    """Heavier groups first, so no worker is left with a long one at the end."""
    if group in dict(_SHARED):
        return [name for name, _ in _SHARED].index(group)
    slow = ("slow", "notebook", "browser")
    return 2 if any(item.get_closest_marker(mark) for mark in slow) else 3


@pytest.hookimpl(tryfirst=True)  # after pytest-randomly's shuffle, before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests on the stack's Trino start a thread that downloads Trino and builds the object store
    (minutes on a fresh machine) beside the other tests. With workers (`--dist loadgroup`), the
    tests are grouped (see `_SHARED`, else by module) and the heavier groups are handed out first
    (with `--no-loadscope-reorder`, in this order); without them, the Trino tests run last."""
    groups = {item.nodeid: _group(item) for item in items}
    if any(group == "trino" for group in groups.values()):
        from playground.stack import control

        _builds.append(control.fetch_in_background())
    if getattr(config.option, "dist", "no") == "loadgroup":
        weights: dict[str, int] = {}
        for item in items:
            group = groups[item.nodeid]
            weights[group] = min(weights.get(group, 9), _weight(item, group))
            item.add_marker(pytest.mark.xdist_group(group))
        order = {group: index for index, group in enumerate(dict.fromkeys(groups.values()))}
        items.sort(key=lambda item: (weights[groups[item.nodeid]], order[groups[item.nodeid]]))
    else:
        items.sort(key=lambda item: groups[item.nodeid] == "trino")


def _servers_started_here() -> dict[int, str]:
    """PostgreSQL servers (pid -> data dir) whose data lies in this session's temporary folders."""
    import psutil

    from playground.services.pgserver import data_dir_of

    roots = [Path(_session_dir).resolve(), *_basetemp]
    found = {}
    for process in psutil.process_iter(["pid", "name", "cmdline"]):
        if not (process.info["name"] or "").startswith("postgres"):
            continue
        data = data_dir_of(process.info["cmdline"] or [])
        if data is not None and any(data.is_relative_to(root) for root in roots):
            found[process.info["pid"]] = str(data)
    return found


@pytest.fixture(scope="session", autouse=True)
def _remember_basetemp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Where this run's `tmp_path` folders live, for the leak check at the end."""
    _basetemp.append(tmp_path_factory.getbasetemp().resolve())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the suite's shared server, then fail the run if anything it started still runs.

    Every test that starts a server or a process stops it itself; one left running here is a leak:
    a PostgreSQL whose data lies in this run's temporary folders, or a child process of this run.
    It is stopped (by its PID) so the machine is clean, and the run fails naming it.
    """
    import signal

    from playground.services import postgres

    if _controller(session.config):
        return
    for thread in _builds:
        thread.join()
    postgres.stop()
    leaked = _servers_started_here()
    for pid in leaked:
        os.kill(pid, signal.SIGINT)
    children = _live_children()
    lines = [f"  PostgreSQL pid {pid}: {data}" for pid, data in leaked.items()]
    lines += [f"  pid {pid}: {command}" for pid, command, _ in children]
    for _pid, _command, process in children:
        process.kill()
    if lines:
        session.config.get_terminal_writer().line(
            f"\nFAILED: the suite left {len(lines)} process(es) running:\n" + "\n".join(lines),
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


RESOURCE_TRACKER = "from multiprocessing.resource_tracker import main"


def _live_children() -> list:
    """(pid, command, process) of what this run started (directly or not) that still runs."""
    import psutil

    alive = []
    for child in psutil.Process().children(recursive=True):
        try:
            command = " ".join(child.cmdline())
            # Python's own helper for multiprocessing locks (dagster-dbt makes one when the code
            # location loads): it reads a pipe from this process and exits with it.
            if RESOURCE_TRACKER in command:
                continue
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append((child.pid, command[:120], child))
        except psutil.NoSuchProcess:
            pass
    return alive


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_session_dir, ignore_errors=True)
