"""Every marimo lesson runs headless as a script and is clean under `marimo check`."""

import sys

import pytest

from playground import lakehouse
from playground.promote import lessons_dir
from tests.helpers import BIN, run

LESSONS = sorted(lessons_dir().glob("[0-9][0-9]_*.py"))

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_as_script(lesson) -> None:
    result = run([sys.executable, str(lesson)], timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]


def test_tour_writes_its_summary() -> None:
    result = run([sys.executable, str(lessons_dir() / "00_tour.py")], timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "wrote lessons.tour_summary with 3 rows" in result.stdout
    summary = lakehouse.catalog().load_table("lessons.tour_summary").scan().to_arrow()
    flowers = dict(
        zip(
            summary.column("species").to_pylist(),
            summary.column("flowers").to_pylist(),
            strict=True,
        )
    )
    assert flowers == {"Iris-setosa": 50, "Iris-versicolor": 50, "Iris-virginica": 49}


def test_marimo_check_is_clean() -> None:
    result = run([str(BIN / "marimo"), "check", *map(str, LESSONS)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in result.stdout.lower()
