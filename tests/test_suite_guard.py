"""The suite's own guard: a run that leaves a process behind fails, naming it."""

import sys

from tests.helpers import ROOT, run

LEAKY = """
import subprocess, sys

def test_leaves_a_process_running():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)  # leaked-on-purpose"])
"""


def test_a_leaked_process_fails_the_run(tmp_path) -> None:
    (tmp_path / "test_leaky.py").write_text(LEAKY)
    result = run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-q",
         "--rootdir", str(tmp_path), str(tmp_path / "test_leaky.py")],
        env={"PYTHONPATH": str(ROOT)}, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert "1 passed" in result.stdout
    assert result.returncode == 1, result.stdout
    assert "FAILED: the suite left 1 process(es) running" in result.stdout
    assert "leaked-on-purpose" in result.stdout
