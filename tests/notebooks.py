"""Run a Jupyter notebook and fail it unless every code cell ran.

The promoted lessons are checked by `pytest --nbmake notebooks/promoted/`
(tests/lessons/test_promoted_notebooks.py). This runner stays for the one thing nbmake cannot
see: an error rendered through IPython's `_render_traceback_` without an `error` output (every
jupysql error while `SqlMagic.short_errors` is on) stops the kernel there, yet nbmake reports
the notebook passed. nbclient (its public `NotebookClient`) executes the notebook in a fresh
kernel, in the notebook's folder; a cell that fails stops the run with its error, and a
notebook also fails unless every code cell ran (tests/lessons/test_notebook_runner.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CELL_TIMEOUT = 300  # seconds a cell may run


class NotebookFailed(AssertionError):
    """The notebook did not run to its end; the message names the cell and its output."""


def execute(path: Path, timeout: int = CELL_TIMEOUT) -> nbformat.NotebookNode:
    """Execute `path` and return the executed notebook, or raise `NotebookFailed`."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )  # fmt: skip
    try:
        client.execute()
    except CellExecutionError as exc:
        raise NotebookFailed(f"{path.name}: {exc}") from None
    code = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    skipped = [i for i in code if notebook.cells[i].get("execution_count") is None]
    if skipped:
        ran = [i for i in code if i not in skipped]
        last = ran[-1] if ran else code[0]
        shown = "".join(o.get("text", "") for o in notebook.cells[last].get("outputs", []))
        raise NotebookFailed(
            f"{path.name}: execution stopped at cell {last} without an error output\n"
            f"cell {last}:\n{notebook.cells[last].source}\n\noutput:\n{shown}"
        )
    return notebook


def verdicts(stdout: str) -> dict[str, str]:
    """A lesson run as a script: exercise key → its printed status (`playground.lessons`)."""
    found = re.findall(r"^exercise (\S+): \S+ (not done yet|correct|not yet right):", stdout, re.M)
    return dict(found)
