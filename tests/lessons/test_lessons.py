"""Every marimo lesson runs headless as a script and is clean under `marimo check`."""

import sys

import pytest

from playground import lakehouse
from playground.promote import lessons_dir
from tests.helpers import BIN, run

LESSONS = sorted(lessons_dir().glob("[0-9][0-9]_*.py"))

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


def _check_tour(stdout: str) -> None:
    assert "wrote lessons.tour_summary with 3 rows" in stdout
    summary = lakehouse.catalog().load_table("lessons.tour_summary").scan().to_arrow()
    flowers = dict(
        zip(
            summary.column("species").to_pylist(),
            summary.column("flowers").to_pylist(),
            strict=True,
        )
    )
    assert flowers == {"Iris-setosa": 50, "Iris-versicolor": 50, "Iris-virginica": 49}


# What each lesson must have produced, beyond exiting cleanly.
OUTCOMES = {"00_tour": _check_tour}


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_as_script(lesson) -> None:
    result = run([sys.executable, str(lesson)], timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    OUTCOMES.get(lesson.stem, lambda _stdout: None)(result.stdout)


def test_marimo_check_is_clean() -> None:
    result = run([str(BIN / "marimo"), "check", *map(str, LESSONS)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in result.stdout.lower()
