"""Every lesson served by `marimo run` renders in Chromium: its charts drawn, no cell failing
(lessons 01 and 05 in the editor, test_lessons_editor.py)."""

import re

import pytest

from playground import lakehouse
from playground.lessons import (
    duckdb_lakehouse,
    ducklake,
    io_managers,
    tour,
    trino_crud,
    when_things_break,
)
from playground.orchestration.promote import lessons_dir
from tests.browser.conftest import (
    CHARTS,
    marimo_app,
    says_right,
    screenshot,
    type_answer,
    wait_until_settled,
)
from tests.helpers import settings_env

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.notebook]

# lesson -> (charts it draws, a heading near its end: the page rendered through). Lessons 01
# and 05 are rendered, checked and answered in the editor (test_lessons_editor.py), as a learner
# opens them.
LESSONS = {
    "00_tour": (1, "DuckDB reads it"),
    "02_duckdb_lakehouse": (1, "Recap"),
    "04_io_managers": (1, "Recap"),
    "07_iceberg_and_ducklake": (0, "Who reads each"),
    "06_when_things_break": (0, "Rolled back to the snapshot exercise 1 asks for"),
}


def _check(page, log, charts: int, marker: str) -> str:
    text = wait_until_settled(page, charts)
    assert page.locator(CHARTS).count() == charts
    assert marker in text
    assert "An internal error occurred" not in text
    server_log = log.read_text()
    assert "Traceback" not in server_log, server_log[-3000:]
    return text


def _number(page, label: str, answer: int, title: str) -> None:
    """Type `answer` into the number box labelled `label`; its check must say ✅."""
    box = page.get_by_role("textbox", name=label)  # not its +/- buttons, labelled alike
    box.fill(str(answer))
    box.press("Enter")
    says_right(page, title)


def _choose(page, label: str, answer: str, title: str) -> None:
    """Pick `answer` in the dropdown labelled `label`; its check must say ✅."""
    page.get_by_label(label).select_option(answer)
    says_right(page, title)


def _deleted_by_last_delete() -> int:
    """Lesson 04's answer read from its Iceberg table's own history by PyIceberg (not by the
    lesson's helpers): the rows its last delete snapshot removed."""
    table = lakehouse.catalog().load_table(io_managers.ICEBERG_TABLE)
    deletes = [s for s in table.snapshots() if s.summary and s.summary.operation.value == "delete"]
    return int(deletes[-1].summary["deleted-records"])


def _race_winner() -> str:
    """Lesson 06's answer read by PyIceberg from the table the writers raced on."""
    rows = lakehouse.catalog().load_table(when_things_break.RACE).scan().to_arrow()
    (winner,) = set(rows.column("writer").to_pylist())
    return winner


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_lesson_renders(lesson, page, tmp_path) -> None:
    log = tmp_path / "marimo.log"
    with marimo_app(lessons_dir() / f"{lesson}.py", log) as url:
        page.goto(url)
        if not LESSONS[lesson][0]:  # no chart to wait for: its marker is a late cell's output
            page.get_by_text(LESSONS[lesson][1]).first.wait_for(timeout=120_000)
        _check(page, log, *LESSONS[lesson])
        screenshot(page, f"lesson-{lesson}")
        if lesson == "00_tour":  # the view against PyIceberg, in a callout (a locator sees it)
            rows = lakehouse.read("iris.iris_cleaned").num_rows
            said = page.get_by_text(re.compile(r"view against PyIceberg: ")).first.inner_text()
            assert f"view against PyIceberg: equal: {rows} rows" in said, said
            for exercise in tour.EXERCISES:  # both wait for an answer
                page.get_by_text(f"⏳ {exercise.title}").wait_for(timeout=60_000)
            box, title = "SELECT species, ... FROM iris ...", tour.SEPAL_MEANS.title
            type_answer(page, box, tour.SEPALS, title)
            page.set_viewport_size({"width": 1280, "height": 760})
            page.get_by_text(f"✅ {tour.SEPAL_MEANS.title}").scroll_into_view_if_needed()
            screenshot(page, "exercise-checked", whole=False)
        if lesson == "02_duckdb_lakehouse":
            exercise = duckdb_lakehouse.STAFF
            box = "select staff_id, ... from payment ..."
            type_answer(page, box, exercise.worked, exercise.title)
        if lesson == "04_io_managers":  # the answer is in the table's history the lesson wrote
            exercise = io_managers.REPLACED
            _number(page, "rows replaced", _deleted_by_last_delete(), exercise.title)
        if lesson == "06_when_things_break":  # the winner is in the table the lesson raced on
            exercise = when_things_break.WINNER
            _choose(page, "the writer that won", _race_winner(), exercise.title)
        if lesson == "07_iceberg_and_ducklake":
            exercise = ducklake.FIRST
            box = "select count(*) from lake.payment ..."
            type_answer(page, box, exercise.worked, exercise.title)


@pytest.mark.stack
def test_the_trino_lesson_renders_against_trino(trino_stack, page, tmp_path) -> None:
    log = tmp_path / "marimo.log"
    with marimo_app(lessons_dir() / "03_trino_crud.py", log, settings_env(trino_stack)) as url:
        page.goto(url)
        text = _check(page, log, 1, "Schema and partition evolution")
        assert "Trino is not running" not in text
        assert "Connected to Trino 476 (stack mode)." in text
        # the rolled-back table against its source, in a callout (awaited: a locator sees it)
        said = page.get_by_text(re.compile(r"^rolled back: \d+ rows")).first
        said.wait_for(timeout=300_000)
        rolled_back = said.inner_text()
        assert re.fullmatch(r"rolled back: (\d+) rows summing ([\d.]+); .+: \1 rows summing \2; "
                            r"equal: True", rolled_back.strip()), rolled_back  # fmt: skip
        screenshot(page, "lesson-03_trino_crud")
        answer, title = trino_crud.MOST_REMOVED_SQL, trino_crud.MOST_REMOVED.title
        type_answer(page, "select snapshot_id from ...", answer, title)


@pytest.mark.stack
def test_the_ducklake_lesson_renders_against_the_stack(trino_stack, page, tmp_path) -> None:
    """Lesson 07 in stack mode, in a data directory of its own: DuckLake's catalog in the
    stack's PostgreSQL and its files in the bucket, Iceberg through the REST catalog; both
    equal PostgreSQL's payments in the page, and exercise 07.1's answer is ✅."""
    log = tmp_path / "marimo.log"
    env = {**settings_env(trino_stack), "PLAYGROUND_DATA_DIR": str(tmp_path / "My Data #1 é")}
    with marimo_app(lessons_dir() / "07_iceberg_and_ducklake.py", log, env) as url:
        page.goto(url)
        page.get_by_text(LESSONS["07_iceberg_and_ducklake"][1]).first.wait_for(timeout=300_000)
        text = _check(page, log, *LESSONS["07_iceberg_and_ducklake"])
        assert "Mode: stack; DuckLake's files go to s3://" in text, text[:3000]
        assert text.count("equal, row by row") >= 2, text  # DuckLake and Iceberg
        assert "rows missing" not in text
        screenshot(page, "lesson-07_iceberg_and_ducklake-stack")
        exercise = ducklake.FIRST
        type_answer(page, "select count(*) from lake.payment ...", exercise.worked, exercise.title)


@pytest.mark.stack
def test_the_duckdb_lesson_writes_through_the_stack(trino_stack, page, tmp_path) -> None:
    """Lesson 02's last part in the browser with the suite's stack: DuckDB's refused commit is
    shown as DuckDB says it, and after the retry the table holds what PostgreSQL holds after
    the same race."""
    from tests.lessons.test_lessons import stack_endpoints

    log = tmp_path / "marimo.log"
    lesson = lessons_dir() / "02_duckdb_lakehouse.py"
    with marimo_app(lesson, log, stack_endpoints(trino_stack)) as url:
        page.goto(url)
        # the last cell of the part: the text around the race, once the stack's steps are done
        page.get_by_text("After the retry the two hold").wait_for(timeout=480_000)
        text = _check(page, log, *LESSONS["02_duckdb_lakehouse"])
        assert "The stack is not running" not in text
        # DuckDB's refused commit, as it says it, in a callout (a locator sees into it)
        assert page.get_by_text(re.compile("Conflict_409")).count() >= 1
        race = page.get_by_text("After the retry the two hold").first.inner_text()
        assert "After the retry the two hold the same rows." in race, race
        screenshot(page, "lesson-02_duckdb_lakehouse-stack")
