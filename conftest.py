"""Suite-wide setup: an isolated data directory, and a guard against leftover processes.

Every test session gets its own PLAYGROUND_DATA_DIR (and DAGSTER_HOME) so the suite never touches a
learner's `.playground/`; the embedded PostgreSQL the suite starts there is stopped at the end, and
the run fails if any server or process it started is still running then.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

_session_dir = tempfile.mkdtemp(prefix="playground-test-")
# where the workers leave the groups of their tests for the controller's scheduler (below)
_GROUPS_FILE = Path(_session_dir) / "groups.json"


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
    _prepare_dbt()


# A suite run's manifest, for the pytest runs its tests start (tests/test_suite_guard.py)
_MANIFEST_VARIABLE = "SUITE_DBT_MANIFEST"


def _prepare_dbt() -> None:
    """The code location loads dbt's manifest, made ahead of time (as `playground run` does).

    A pytest run started by a test takes the manifest of the run that started it when it is
    current: a manifest names no data directory (only its `created_at` times differ), so the
    copy is what `dbt parse` would write, five seconds sooner. It lacks dbt's partial parse,
    which only the run that made it can reuse."""
    from playground.orchestration import dbt_project

    parent = Path(os.environ.get(_MANIFEST_VARIABLE) or os.devnull)
    if parent.is_file() and parent.stat().st_mtime >= dbt_project.newest_source():
        dbt_project.manifest_path().parent.mkdir(parents=True)
        shutil.copyfile(parent, dbt_project.manifest_path())  # dated now: current
    else:
        dbt_project.prepare(progress=lambda _line: None)
    os.environ[_MANIFEST_VARIABLE] = str(dbt_project.manifest_path())


_basetemp: list[Path] = []
_builds: list = []


# Tests that use one of these run in one worker, so the stack's Trino (with its object store and
# REST catalog) and Superset start once (one group: a test of Superset over Trino needs both).
_STACK = ("trino_stack", "superset_env", "superset_running")


def _uses(item: pytest.Item, fixtures: tuple[str, ...]) -> bool:
    return any(name in getattr(item, "fixturenames", ()) for name in fixtures)


def _group(item: pytest.Item) -> str:
    """The stack's group, else the module's: its module-scoped fixtures start once."""
    return "stack" if _uses(item, _STACK) else item.nodeid.split("::")[0]


def _weight(item: pytest.Item) -> int:
    """Heavier first, so no worker is left with a long group at the end."""
    if _uses(item, _STACK):
        return 0
    return 1 if any(item.get_closest_marker(m) for m in ("slow", "notebook", "browser")) else 2


@pytest.hookimpl(tryfirst=True)  # after pytest-randomly's shuffle, before `-m` deselects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test on the stack's servers or Superset is `slow` (it starts them: a minute, or
    minutes on a fresh machine), so `-m "not slow"` starts none. In a worker, the tests are
    grouped (`_group`), the heavier groups first, and the groups written for the scheduler
    (below); in one process, the Trino tests run last."""
    for item in items:
        if _uses(item, _STACK):
            item.add_marker(pytest.mark.slow)
    on_trino = {item.nodeid for item in items if _uses(item, ("trino_stack",))}
    groups_file = getattr(config, "workerinput", {}).get("groups_file")
    if not groups_file:
        items.sort(key=lambda item: item.nodeid in on_trino)
        return
    groups = {item.nodeid: _group(item) for item in items}
    weights: dict[str, int] = {}
    for item in items:
        group = groups[item.nodeid]
        weights[group] = min(weights.get(group, 9), _weight(item))
    order = {group: index for index, group in enumerate(dict.fromkeys(groups.values()))}
    items.sort(key=lambda item: (weights[groups[item.nodeid]], order[groups[item.nodeid]]))
    from playground.config.files import write_private

    write_private(Path(groups_file), json.dumps(groups))  # every worker writes the same


def pytest_collection_finish(session: pytest.Session) -> None:
    """When a test that will run needs the stack's Trino, a thread downloads Trino and builds the
    object store (minutes on a fresh machine) beside the other tests."""
    if session.config.option.collectonly:
        return
    if any(_uses(item, ("trino_stack",)) for item in session.items):
        from playground.stack import control

        _builds.append(control.fetch_in_background())


def pytest_configure_node(node) -> None:
    """(pytest-xdist, in the controller) Where each worker leaves the groups of its tests."""
    node.workerinput["groups_file"] = str(_GROUPS_FILE)


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """pytest-xdist's scheduling by scope (`--dist loadscope`), with this suite's groups as the
    scopes: a group runs whole in one worker, the groups handed out in the workers' order (with
    `--no-loadscope-reorder`). (xdist's own `xdist_group` marks do not take with pytest 9.)"""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # read once every worker has collected (and written it)
                found = _GROUPS_FILE.is_file()
                self.groups = json.loads(_GROUPS_FILE.read_text()) if found else {}
            return self.groups.get(nodeid) or super()._split_scope(nodeid)

    return GroupScheduling(config, log)


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
