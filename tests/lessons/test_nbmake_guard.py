"""The suite's nbmake guard (root conftest.py) fails notebooks whose execution stopped early."""

import sys
from pathlib import Path

import nbformat
import pytest

from tests.helpers import ROOT, run

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

JUPYSQL_ERROR = "%%sql con\nSELECT * FROM no_such_table"


def _notebook(path: Path, *cells: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(notebook, path)
    return path


def _pytest(path: Path):
    return run(
        # -p conftest: the notebook lies outside the repository, so load the guard explicitly
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "-p", "conftest",
         "-p", "no:cacheprovider", "-q", str(path)],
        timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("error_last", [False, True], ids=["error-midway", "error-last-cell"])
def test_jupysql_error_fails(tmp_path: Path, error_last: bool) -> None:
    setup = "import duckdb\ncon = duckdb.connect()\n%load_ext sql"
    cells = [setup, JUPYSQL_ERROR] if error_last else [setup, JUPYSQL_ERROR, "print('later')"]
    result = _pytest(_notebook(tmp_path / "bad.ipynb", *cells))
    assert result.returncode == 1, result.stdout[-3000:]
    assert "1 failed" in result.stdout
    assert "execution stopped at cell 1 without an error output" in result.stdout


def test_good_notebook_passes(tmp_path: Path) -> None:
    result = _pytest(_notebook(tmp_path / "good.ipynb", "x = 1", "assert x == 1"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 passed" in result.stdout


def test_python_error_still_fails(tmp_path: Path) -> None:
    result = _pytest(_notebook(tmp_path / "raise.ipynb", "raise ValueError('boom')"))
    assert result.returncode == 1
    assert "ValueError" in result.stdout
