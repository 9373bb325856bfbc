"""`pytest --nbmake notebooks/promoted/`, the command CI runs on the promoted lessons: it passes
them, and it fails a notebook with a failing `%%sql` cell or a raising Python cell (nbmake run
for real, in a child process, on copies of a promoted notebook).

What nbmake cannot see is an error a library renders through IPython's `_render_traceback_`
without raising: the kernel stops there and nbmake reports PASSED. jupysql does that unless
`SqlMagic.short_errors` is off, which `playground promote` writes into every promoted
notebook's SQL setup. The nbclient runner (tests/notebooks.py) stays for that one check: a
notebook fails unless every code cell ran (tests/lessons/test_notebook_runner.py).
"""

import json
import shutil
import sys
from pathlib import Path

import pytest

from playground.orchestration.promote import SQL_SETUP
from tests.helpers import ROOT, run

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

PROMOTED = sorted((ROOT / "notebooks" / "promoted").glob("*.ipynb"))
TOUR = ROOT / "notebooks" / "promoted" / "00_tour.ipynb"  # needs no server: iris and DuckDB


def test_some_lessons_are_promoted_with_jupysql_raising() -> None:
    assert len(PROMOTED) >= 3, PROMOTED
    for path in PROMOTED:
        cells = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]]
        if any(c.startswith("%%sql") for c in cells):
            assert SQL_SETUP in cells, path.name
    assert "%config SqlMagic.short_errors = False" in SQL_SETUP


def test_pytest_nbmake_passes_the_promoted_notebooks() -> None:
    """The exact command, from the project root: its own data directory (the root conftest) and
    its embedded PostgreSQL (notebooks/promoted/conftest.py); the notebooks seed what they read."""
    result = run([sys.executable, "-m", "pytest", "--nbmake", "notebooks/promoted/"], timeout=900)
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"{len(PROMOTED)} passed" in result.stdout


def _nbmake(notebook: Path) -> tuple[int, str]:
    """nbmake on one notebook outside the project (no conftest): its exit code and report."""
    result = run([sys.executable, "-m", "pytest", "--nbmake", "-p", "no:randomly",
                  "-p", "no:cacheprovider", "--noconftest", "--rootdir", str(notebook.parent),
                  str(notebook)], cwd=notebook.parent, timeout=600)  # fmt: skip
    return result.returncode, result.stdout


def _with_cell(folder: Path, source: str, after: str | None = None) -> Path:
    """A copy of the promoted tour with one more code cell (after the cell starting `after`)."""
    notebook = json.loads(TOUR.read_text())
    cells = notebook["cells"]
    at = next(i for i, c in enumerate(cells) if "".join(c["source"]).startswith(after)) + 1
    cell = {"cell_type": "code", "execution_count": None, "id": "injected", "metadata": {},
            "outputs": [], "source": source}  # fmt: skip
    notebook["cells"] = cells[:at] + [cell] + cells[at:]
    copy = folder / "00_tour.ipynb"
    copy.write_text(json.dumps(notebook))
    return copy


def test_nbmake_passes_the_tour_as_promoted(fresh_data_dir, tmp_path) -> None:
    copy = tmp_path / "00_tour.ipynb"
    shutil.copy(TOUR, copy)
    code, report = _nbmake(copy)
    assert code == 0 and "1 passed" in report, report[-3000:]


@pytest.mark.parametrize(("source", "error"), [
    ("%%sql con\nSELECT * FROM no_such_table", "no_such_table"),
    ("raise ValueError('an injected fault')", "an injected fault"),
], ids=["failing-sql-cell", "raising-python-cell"])  # fmt: skip
def test_nbmake_fails_an_injected_fault(source, error, fresh_data_dir, tmp_path) -> None:
    copy = _with_cell(tmp_path, source, after="%load_ext sql")
    code, report = _nbmake(copy)
    assert code == 1 and "1 failed" in report, report[-3000:]
    assert error in report
