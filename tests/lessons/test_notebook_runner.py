"""The suite's notebook runner (tests/notebooks.py) fails notebooks that stop early."""

from pathlib import Path

import nbformat
import pytest

from tests.notebooks import NotebookFailed, execute

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

JUPYSQL_ERROR = "%%sql con\nSELECT * FROM no_such_table"


def _notebook(path: Path, *cells: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(notebook, path)
    return path


@pytest.mark.parametrize("error_last", [False, True], ids=["error-midway", "error-last-cell"])
def test_a_jupysql_error_fails(tmp_path: Path, error_last: bool) -> None:
    setup = "import duckdb\ncon = duckdb.connect()\n%load_ext sql"
    cells = [setup, JUPYSQL_ERROR] if error_last else [setup, JUPYSQL_ERROR, "print('later')"]
    with pytest.raises(NotebookFailed, match="no_such_table|stopped at cell 1"):
        execute(_notebook(tmp_path / "bad.ipynb", *cells))


def test_a_good_notebook_runs_every_cell(tmp_path: Path) -> None:
    done = execute(_notebook(tmp_path / "good.ipynb", "x = 1", "assert x == 1", "print(x + 1)"))
    assert [c.execution_count for c in done.cells] == [1, 2, 3]
    assert done.cells[-1].outputs[0]["text"] == "2\n"


def test_a_python_error_fails_naming_it(tmp_path: Path) -> None:
    with pytest.raises(NotebookFailed) as failed:
        execute(_notebook(tmp_path / "raise.ipynb", "raise ValueError('boom')"))
    assert "ValueError" in str(failed.value) and "boom" in str(failed.value)


def test_what_nbmake_cannot_see_and_this_runner_does(tmp_path: Path) -> None:
    """A jupysql error with `short_errors` on (jupysql's default) stops the kernel, yet nbmake
    1.5.5 reports the notebook passed: why the promoted notebooks turn it off, and why this
    runner stays (when nbmake fails here, it sees the error itself and the runner can go)."""
    import sys

    from tests.helpers import run

    setup = "import duckdb\ncon = duckdb.connect()\n%load_ext sql"
    path = _notebook(tmp_path / "short.ipynb", setup, JUPYSQL_ERROR, "print('later')")
    nbmake = run([sys.executable, "-m", "pytest", "--nbmake", "-p", "no:randomly",
                  "-p", "no:cacheprovider", "--noconftest", "--rootdir", str(tmp_path),
                  str(path)], cwd=tmp_path, timeout=300)  # fmt: skip
    assert nbmake.returncode == 0 and "1 passed" in nbmake.stdout, nbmake.stdout[-2000:]
    with pytest.raises(NotebookFailed, match="no_such_table|stopped at cell 1"):
        execute(path)
