"""The lessons in `marimo edit notebooks/`, the editor `make run` serves, as a learner opens them:
the home lists them in order, a lesson runs without pressing anything, a typed answer is checked,
an answer that cannot be read says so in one line, and the links lead to the next lesson and
back to the list."""

import re
import secrets
from pathlib import Path

import pytest

from playground.config.settings import get_settings
from playground.lakehouse import clean
from playground.lessons import chunked_loading, incremental_loading, tour
from playground.orchestration.promote import lessons_dir
from tests.browser.conftest import (
    CHARTS,
    marimo_editor,
    says_right,
    screenshot,
    type_answer,
    wait_until_settled,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.notebook]


OPENED = ("00_tour", "01_chunked_loading", "05_incremental_loading")  # the lessons opened here


@pytest.fixture(scope="module")
def editor(tmp_path_factory):
    """(base URL, token, server log) of one editor shared by this module's tests; the lessons
    are as they were after it (answering and following links saves nothing)."""
    folder = tmp_path_factory.mktemp("editor")
    log, token = folder / "marimo.log", secrets.token_urlsafe(16)
    opened = [lessons_dir() / f"{name}.py" for name in OPENED]
    before = {p: p.read_bytes() for p in opened}
    with marimo_editor(log, token, home=folder) as base:  # a new learner: no recent notebooks
        yield base, token, log
    assert {p: p.read_bytes() for p in opened} == before
    # lesson 05's kernel, stopped with the editor mid-run, leaves its replication slot, as a
    # learner's Ctrl-C would: `playground clean` drops it (the suite's server is shared)
    clean.drop_stale_slots(get_settings(), progress=lambda _line: None)


def _open(page, editor, query: str = "") -> None:
    base, token, _log = editor
    page.goto(f"{base}/?{query}{'&' if query else ''}access_token={token}")


def _lessons() -> list[str]:
    """The lesson files as the folder holds them, in their order."""
    return sorted(p.name for p in lessons_dir().glob("[0-9][0-9]_*.py"))


def test_the_home_lists_the_lessons_in_order(page, tmp_path) -> None:
    # an editor of its own: the shared one lists the lessons other tests opened as "recent"
    # first (pytest may run this test after them), which a new learner does not have yet
    token = secrets.token_urlsafe(16)
    with marimo_editor(tmp_path / "marimo.log", token, home=tmp_path) as base:
        _open(page, (base, token, tmp_path / "marimo.log"))
        names = page.get_by_text(re.compile(r"^\d\d_\w+\.py$"))
        names.first.wait_for(timeout=60_000)
        shown = list(dict.fromkeys(names.all_inner_texts()))  # each name is drawn twice (a tooltip)
        screenshot(page, "editor-home", whole=False)
    assert shown == _lessons()
    assert len(_lessons()) >= 7


def test_lesson_00_runs_in_the_editor_and_checks_answers(page, editor) -> None:
    _open(page, editor, "file=00_tour.py")
    # nothing pressed: the cells ran, so the chart is drawn and both exercises wait for answers
    for exercise in tour.EXERCISES:
        page.get_by_text(f"⏳ {exercise.title}").wait_for(timeout=120_000)
    text = wait_until_settled(page, charts=1)
    assert page.locator(CHARTS).count() == 1
    assert "An internal error occurred" not in text
    assert page.title() == "Lesson 00: A tour of the playground"

    box = page.get_by_placeholder("SELECT species, ... FROM iris ...")
    box.fill("SELEKT the sepals")  # not SQL: one line saying so, not a traceback
    box.press("Tab")
    title = page.get_by_text(f"❌ {tour.SEPAL_MEANS.title}")
    title.wait_for(timeout=60_000)
    said = title.locator("xpath=..").inner_text()  # the callout's line: the title, then why
    assert "your answer failed" in said and "syntax error" in said.lower(), said
    assert len(said.strip().splitlines()) == 1, said
    assert "Traceback" not in page.inner_text("body")

    type_answer(page, "SELECT species, ... FROM iris ...", tour.SEPALS, tour.SEPAL_MEANS.title)
    screenshot(page, "editor-lesson-00")
    assert "Traceback" not in editor[2].read_text()


def test_next_leads_to_lesson_01_and_the_list_back_home(page, editor) -> None:
    _open(page, editor, "file=00_tour.py")
    # as a learner reads the lesson before following it: a click while its cells still ran
    # once led nowhere within 30 s on two busy cores
    wait_until_settled(page, charts=1)
    page.get_by_role("link", name="lesson 01, chunked loading").click(timeout=120_000)
    page.wait_for_url(re.compile(r"\?file=01_chunked_loading\.py"), timeout=30_000)
    # lesson 01 loaded and ran: its title, and the button one of its cells draws
    page.get_by_role("heading", name="Chunked loading, done right").wait_for(timeout=60_000)
    page.get_by_role("button", name="Measure at this size").wait_for(timeout=120_000)
    assert "Not Found" not in page.inner_text("body")
    screenshot(page, "editor-lesson-01", whole=False)

    _open(page, editor, "file=05_incremental_loading.py")
    # read first here too: the home, opened while lesson 05's cells still ran, once listed
    # nothing within 30 s on two busy cores
    page.get_by_text("What the table says").first.wait_for(timeout=180_000)
    wait_until_settled(page, charts=0)
    page.get_by_role("link", name="the lesson list").click(timeout=60_000)
    page.get_by_text("00_tour.py").first.wait_for(timeout=30_000)
    assert "Not Found" not in page.inner_text("body")


def test_lesson_05_runs_in_the_editor_and_checks_an_answer(page, editor) -> None:
    _open(page, editor, "file=05_incremental_loading.py")
    # nothing pressed: the late cells ran (the table's verdict, the exercises waiting)
    page.get_by_text("What the table says").first.wait_for(timeout=180_000)
    text = wait_until_settled(page, charts=0)
    assert page.locator(CHARTS).count() == 0
    assert "An internal error occurred" not in text
    exercise = incremental_loading.CHANGED_CUSTOMERS
    page.get_by_text(f"⏳ {exercise.title}").wait_for(timeout=60_000)
    type_answer(page, "select customer_id from pg.public.customer ...", exercise.worked,
                exercise.title)  # fmt: skip
    says_right(page, exercise.title)
    screenshot(page, "editor-lesson-05")
    assert page.title() == "Lesson 05: Incremental loading"
    assert "Traceback" not in editor[2].read_text()


def test_lesson_01_measures_in_the_editor_and_checks_an_answer(page, editor) -> None:
    _open(page, editor, "file=01_chunked_loading.py")
    # it measures when asked: then its three charts, and the cells after them, run
    page.get_by_role("button", name="Measure at this size").click(timeout=180_000)
    text = wait_until_settled(page, charts=3)
    assert page.locator(CHARTS).count() == 3
    assert "In the library" in text
    assert "An internal error occurred" not in text
    screenshot(page, "lesson-01_chunked_loading")
    exercise = chunked_loading.GROWS
    page.get_by_label("method").select_option(exercise.worked)
    says_right(page, exercise.title)
    assert "Traceback" not in editor[2].read_text()


def test_no_lesson_links_to_a_file_the_editor_cannot_serve() -> None:
    """Every link between lessons has the editor's form (`?file=NN_name.py`) and names a lesson
    that exists; the list is `./` (the editor's home)."""
    names = set(_lessons())
    for lesson in names:
        source = (lessons_dir() / lesson).read_text(encoding="utf-8")
        targets = re.findall(r"\]\(([^)\s]+)\)", source)
        local = [t for t in targets if not re.match(r"https?://", t)]
        for target in local:
            assert target == "./" or target.removeprefix("?file=") in names, (lesson, target)
        assert not re.search(r"\]\((\d\d_\w+\.py|README\.md)\)", source), lesson
    assert Path(lessons_dir() / "README.md").is_file()
