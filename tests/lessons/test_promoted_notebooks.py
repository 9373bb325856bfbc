"""Every promoted lesson (`notebooks/promoted/*.ipynb`) runs to its last cell in a fresh kernel."""

import pytest

from tests.helpers import ROOT
from tests.notebooks import execute

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

PROMOTED = sorted((ROOT / "notebooks" / "promoted").glob("*.ipynb"))


def test_some_lessons_are_promoted() -> None:
    assert len(PROMOTED) >= 3, PROMOTED


@pytest.mark.parametrize("path", PROMOTED, ids=[p.stem for p in PROMOTED])
def test_the_promoted_notebook_runs_every_cell(path, settings) -> None:
    done = execute(path)
    assert all(c.execution_count for c in done.cells if c.cell_type == "code")
