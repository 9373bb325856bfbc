"""The suite's own guard: a run that leaves a process or a server behind fails, naming it."""

import sys

from tests.helpers import ROOT, run

LEAKY = """
import subprocess, sys

def test_leaves_a_process_running():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)  # leaked-on-purpose"])
"""


LEAKY_SERVER = """
from playground.services import postgres

def test_leaves_a_server_running(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path / "data"))
    assert postgres.start(progress=lambda _line: None).running
"""


def _nested_run(tmp_path, source: str, *options: str):
    (tmp_path / "test_leaky.py").write_text(source)
    return run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-q",
         *options, "--rootdir", str(tmp_path), str(tmp_path / "test_leaky.py")],
        env={"PYTHONPATH": str(ROOT)}, cwd=tmp_path, timeout=300,
    )  # fmt: skip


def test_a_leaked_process_fails_the_run(tmp_path) -> None:
    result = _nested_run(tmp_path, LEAKY)
    assert "1 passed" in result.stdout
    assert result.returncode == 1, result.stdout
    assert "FAILED: the suite left 1 process(es) running" in result.stdout
    assert "leaked-on-purpose" in result.stdout


def test_a_leaked_server_fails_the_run_and_is_stopped(tmp_path) -> None:
    import psutil

    result = _nested_run(tmp_path, LEAKY_SERVER)
    assert "1 passed" in result.stdout
    assert result.returncode == 1, result.stdout
    line = next(line for line in result.stdout.splitlines() if "PostgreSQL pid" in line)
    assert "test_leaves_a_server_running" in line
    pid = int(line.split("PostgreSQL pid ")[1].split(":")[0])
    try:
        psutil.Process(pid).wait(30)  # the guard signalled it; it shuts down
    except psutil.NoSuchProcess:
        pass
    assert not psutil.pid_exists(pid)


GROUPED = """
import os, pytest

@pytest.fixture
def superset_env():  # a stand-in named like the suite's Superset fixture, which groups by name
    return None

@pytest.mark.parametrize("n", range(4))
def test_here(n, {fixture}):
    with open({log!r}, "a") as out:
        out.write(f"{{__name__}} {{os.environ['PYTEST_XDIST_WORKER']}}\\n")
"""


def test_workers_run_each_module_and_the_stack_group_whole(tmp_path) -> None:
    """`make test`'s scheduling, run for real on two workers: a module's tests stay on one
    worker, and so do tests that share the stack's fixtures across modules."""
    log = tmp_path / "ran.txt"
    for name, fixture in (("one", "tmp_path"), ("two", "tmp_path"), ("three", "superset_env"),
                          ("four", "superset_env"), ("five", "tmp_path")):  # fmt: skip
        (tmp_path / f"test_{name}.py").write_text(GROUPED.format(fixture=fixture, log=str(log)))
    result = run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-q",
         "-n", "2", "--dist", "loadscope", "--no-loadscope-reorder",
         "--rootdir", str(tmp_path), str(tmp_path)],
        env={"PYTHONPATH": str(ROOT)}, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert "20 passed" in result.stdout, result.stdout[-2000:]
    workers: dict[str, set[str]] = {}
    for line in log.read_text().splitlines():
        module, worker = line.split()
        workers.setdefault(module, set()).add(worker)
    assert sorted(workers) == ["test_five", "test_four", "test_one", "test_three", "test_two"]
    assert all(len(seen) == 1 for seen in workers.values()), workers
    assert workers["test_three"] == workers["test_four"]  # the stack's group, across modules
    assert set().union(*workers.values()) == {"gw0", "gw1"}


ON_THE_STACK = """
import pytest

@pytest.fixture
def superset_env():  # named like the suite's Superset fixture, which starts Superset
    return None

def test_on_the_stack(superset_env):
    pass

def test_plain():
    pass
"""


def test_the_quick_loop_starts_no_stack_server(tmp_path) -> None:
    """`make test-quick` (`-m "not slow"`) leaves out every test on the stack's or Superset's
    fixtures, marked `slow` or not: each would start those servers."""
    result = _nested_run(tmp_path, ON_THE_STACK, "-m", "not slow", "-rA")
    assert "1 passed, 1 deselected" in result.stdout, result.stdout[-2000:]
    assert "PASSED test_leaky.py::test_plain" in result.stdout
