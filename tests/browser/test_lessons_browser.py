"""Every lesson served by `marimo run` renders in Chromium: its charts drawn, no cell failing."""

import pytest

from playground.orchestration.promote import lessons_dir
from tests.browser.conftest import CHARTS, marimo_app, screenshot, wait_until_settled
from tests.helpers import settings_env

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.notebook]

# lesson -> (charts it draws, a heading near its end: the page rendered through)
LESSONS = {
    "00_tour": (1, "DuckDB reads it"),
    "01_chunked_loading": (3, "In the library"),
    "02_duckdb_lakehouse": (1, "Recap"),
    "04_io_managers": (1, "Recap"),
}


def _check(page, log, charts: int, marker: str) -> str:
    text = wait_until_settled(page, charts)
    assert page.locator(CHARTS).count() == charts
    assert marker in text
    assert "An internal error occurred" not in text
    server_log = log.read_text()
    assert "Traceback" not in server_log, server_log[-3000:]
    return text


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_lesson_renders(lesson, page, tmp_path) -> None:
    log = tmp_path / "marimo.log"
    with marimo_app(lessons_dir() / f"{lesson}.py", log) as url:
        page.goto(url)
        _check(page, log, *LESSONS[lesson])
        screenshot(page, f"lesson-{lesson}")


@pytest.mark.stack
def test_the_trino_lesson_renders_against_trino(trino_stack, page, tmp_path) -> None:
    log = tmp_path / "marimo.log"
    with marimo_app(lessons_dir() / "03_trino_crud.py", log, settings_env(trino_stack)) as url:
        page.goto(url)
        text = _check(page, log, 1, "Schema and partition evolution")
        assert "Trino is not running" not in text
        assert "Connected to Trino 476 (stack mode)." in text
        screenshot(page, "lesson-03_trino_crud")
