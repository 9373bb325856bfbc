"""Exercises that check themselves: the verdicts, and lesson 00's checks fed right and wrong
answers against the lakehouse (lesson 03's run against Trino in test_trino_lesson.py)."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground import lakehouse
from playground.datasets.iris import dataset
from playground.engines import duck
from playground.lessons import exercises, tour
from playground.lessons.exercises import Exercise


def _positive(answer: int) -> str | None:
    return None if answer > 0 else f"{answer} is not above 0"


POSITIVE = Exercise("x.1", "a positive number", _positive, 3, -1)


def _broken(answer: int) -> str | None:
    return {}["no such key"]  # a check with a bug of its own


def _runs_the_answer(answer: str) -> str | None:
    exercises.run_answer(int, answer)  # what the learner typed, run by the check
    return None


def test_a_verdict_for_each_kind_of_answer(monkeypatch) -> None:
    monkeypatch.delenv(exercises.ANSWERS_VARIABLE, raising=False)
    assert POSITIVE.verdict(None).status == POSITIVE.verdict("  ").status == exercises.TODO
    assert POSITIVE.verdict(2).status == exercises.OK
    wrong = POSITIVE.verdict(-5)
    assert (wrong.status, wrong.message) == (exercises.WRONG, "-5 is not above 0")
    assert wrong.line == "exercise x.1: ❌ not yet right: -5 is not above 0"


def test_a_check_that_raises_says_so_and_is_never_a_wrong_answer(monkeypatch) -> None:
    monkeypatch.delenv(exercises.ANSWERS_VARIABLE, raising=False)
    broken = Exercise("x.2", "a broken check", _broken, 3, -1)
    said = broken.verdict(3)
    assert said.status == exercises.BROKEN
    assert said.line == "exercise x.2: ⚠ the check itself failed: KeyError: 'no such key'"
    # in the suite's run, its worked answer is not "correct": the lesson's test fails on it
    assert [v.status for v in broken.verdicts(None)] == [exercises.TODO, exercises.BROKEN,
                                                         exercises.BROKEN]  # fmt: skip
    assert POSITIVE.verdict("text").status == exercises.BROKEN  # `"text" > 0`: the check's bug


def test_an_answer_that_raises_is_wrong_and_says_how(monkeypatch) -> None:
    monkeypatch.delenv(exercises.ANSWERS_VARIABLE, raising=False)
    parsed = Exercise("x.3", "a number", _runs_the_answer, "3", "three")
    said = parsed.verdict("three")
    assert said.status == exercises.WRONG
    assert said.message == (
        "your answer failed: ValueError: invalid literal for int() with base 10: 'three'"
    )


def test_the_suite_feeds_literal_answers_for_the_data_it_made(monkeypatch) -> None:
    """An exercise whose answer depends on the data has no literal of its own: the suite passes
    one (`LESSON_ANSWERS_GIVEN`); without it, the run judges the answer as shipped only."""
    counted = Exercise("x.4", "a count", _positive, None, None, solve=lambda: 99)
    assert [v.key for v in counted.verdicts(None)] == ["x.4"]  # never the computed 99
    monkeypatch.setenv(exercises.GIVEN_VARIABLE, '{"x.4": {"worked": 7, "wrong": -7}}')
    assert [(v.key, v.status) for v in counted.verdicts(None)] == [
        ("x.4", exercises.TODO),
        ("x.4@worked", exercises.OK),
        ("x.4@wrong", exercises.WRONG),
    ]


@pytest.mark.parametrize(("answers", "status"), [("worked", "correct"), ("wrong", "not yet right")])
def test_the_suite_can_fill_in_the_worked_or_the_wrong_answer(answers, status, monkeypatch) -> None:
    monkeypatch.setenv(exercises.ANSWERS_VARIABLE, answers)
    assert POSITIVE.verdict(None).status == status  # whatever the cell holds


def test_one_run_judges_the_shipped_the_worked_and_the_wrong_answer() -> None:
    lines = [v.line for v in POSITIVE.verdicts(None)]
    assert lines == [
        "exercise x.1: ⏳ not done yet: waiting for your answer above",
        "exercise x.1@worked: ✅ correct: right: it matches what the tables hold",
        "exercise x.1@wrong: ❌ not yet right: -1 is not above 0",
    ]


@pytest.fixture
def iris(fresh_data_dir):
    """The cleaned iris table in a fresh lakehouse, and DuckDB's `iris` view over it."""
    lakehouse.write_table("iris.iris_cleaned", dataset.clean(dataset.read_csv()))
    con = duck.connect()
    lakehouse.register_duckdb_view(con, "iris.iris_cleaned", "iris")
    yield con
    con.close()


def test_the_tour_checks_take_the_worked_answers_and_refuse_the_wrong(iris, monkeypatch) -> None:
    monkeypatch.delenv(exercises.ANSWERS_VARIABLE, raising=False)
    for exercise in tour.EXERCISES:
        assert exercise.verdict(exercise.worked, con=iris).status == exercises.OK, exercise.key
        assert exercise.verdict(exercise.wrong, con=iris).status == exercises.WRONG, exercise.key
    # the wrong answers have the right shape: only the values tell them apart
    swapped = tour.SEPAL_MEANS.verdict(tour.SWAPPED, con=iris).message
    assert swapped.startswith("Iris-setosa: your mean sepal length is 3.43, the table's 5.006")
    said = tour.DROPPED.verdict({"Iris-versicolor": 1}).message
    assert said.startswith("you said {'Iris-versicolor': 1}")


def test_the_tour_hints_say_what_differs(iris) -> None:
    off = tour.SEPALS.replace("round(avg(sepal_length_cm), 2)", "round(max(sepal_length_cm), 2)")
    said = tour.SEPAL_MEANS.verdict(off, con=iris).message
    assert said.startswith("Iris-setosa: your mean sepal length is 5.8, the table's 5.006")
    two = tour.SEPALS.replace("ORDER BY species", "HAVING species <> 'Iris-setosa'")
    assert tour.SEPAL_MEANS.verdict(two, con=iris).message == (
        "3 species expected, your query returns 2 rows"
    )
    assert "you said {'Iris-setosa': 1}" in tour.DROPPED.verdict({"Iris-setosa": 1}).message


def test_the_csv_io_manager_check_takes_the_worked_class_and_names_the_lost_types() -> None:
    from playground.lessons import io_managers

    assert io_managers.check_csv_io_manager(io_managers.CsvIOManager) is None
    said = io_managers.check_csv_io_manager(io_managers.UntypedCsvIOManager)
    assert said.startswith("payment_date came back as object: CSV keeps no types")


def test_the_chunked_loading_checks_read_the_measurements(monkeypatch) -> None:
    """Lesson 01's checks on measurements shaped like its own (its run takes half a minute: the
    suite runs it once, as shipped, and feeds the checks here)."""
    import pandas as pd

    monkeypatch.delenv(exercises.ANSWERS_VARIABLE, raising=False)

    from playground.lessons import chunked_loading

    growth = pd.DataFrame({
        "method": ["pandas-concat", "pandas-chunks"] * 2,
        "rows": [100_000, 100_000, 400_000, 400_000],
        "peak_rss_mb": [240.0, 210.0, 355.0, 212.0],
    })  # fmt: skip
    # literal answers: (355 - 240) MB × 2**20 over the 300,000 rows added is 402 bytes a row;
    # the wrong one divides the whole peak by the rows (355 × 2**20 / 400,000: 931)
    literal = {"01.1": ("pandas-concat", "pandas-chunks"), "01.2": (402, 931)}
    for exercise in chunked_loading.EXERCISES:
        worked, wrong = literal[exercise.key]
        assert exercise.verdict(worked, growth=growth).status == exercises.OK, exercise.key
        assert exercise.verdict(wrong, growth=growth).status == exercises.WRONG, exercise.key
    said = chunked_loading.check_grows("pandas-chunks", growth)
    assert said == "pandas-chunks's peak rose by 2 MB between the two sizes; another rose more"
    said = chunked_loading.check_bytes_per_row(931, growth)
    assert said == ("931 bytes a row; the measurements say about 402: divide the rise in peak "
                    "memory (MB × 2**20) by the rows added")  # fmt: skip


@pytest.mark.parametrize("answer", [
    "drop table iceberg.pagila.payment",
    "select 1; drop table iceberg.pagila.payment",
    "delete from iceberg.lesson_trino.ledger",
    "alter table iceberg.pagila.payment execute expire_snapshots(retention_threshold => '0s')",
    "select * from table(postgresql.system.query(query => 'drop table payment'))",
])  # fmt: skip
def test_the_trino_answer_box_runs_only_one_select(answer, monkeypatch) -> None:
    """Lesson 03's boxes run answers on the pipeline's catalog: anything but one SELECT is
    refused before Trino sees it (the real table surviving a DROP: test_trino_lesson.py)."""
    from playground.lessons import trino_crud

    monkeypatch.delenv(exercises.ANSWERS_VARIABLE, raising=False)
    sent = []  # a stand-in for Trino that records what reaches it (nothing may)
    for exercise in trino_crud.EXERCISES:
        said = exercise.verdict(answer, sql=lambda query: sent.append(query), settings=None)
        assert said.status == exercises.WRONG, said
        assert said.message.startswith("your answer failed: not run: "), said.message
    assert sent == []


def test_the_trino_answer_box_lets_a_select_through() -> None:
    from playground.lessons import trino_crud

    for query in (trino_crud.MOST_REMOVED_SQL, trino_crud.BEFORE_MERGE_SQL, trino_crud.LATEST_SQL,
                  "with s as (select 1 as id) select id from s union select 2"):  # fmt: skip
        assert trino_crud.refused(query) is None, query


SPECIES = ("Iris-setosa", "Iris-versicolor", "Iris-virginica")
# what a learner's query may put in a mean's place: NaN, ±infinity, NULL, text (emoji and
# right-to-left included), and ordinary numbers
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.none(),
    st.text(max_size=8), st.integers(-(2**62), 2**62),
)  # fmt: skip


def _literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return f"'{value!r}'::double" if isinstance(value, float) else str(value)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lengths=st.lists(VALUES, min_size=3, max_size=3), width=VALUES)
def test_the_sepal_check_judges_any_value_and_never_breaks(iris, lengths, width) -> None:
    """Whatever values the learner's query returns, the check says ✅ or ❌, never "the check
    itself failed"; and what is not a finite number is never ✅."""
    rows = ", ".join(
        f"('{s}', {_literal(v)}, {_literal(width)})" for s, v in zip(SPECIES, lengths, strict=True)
    )
    query = (
        f"SELECT * FROM (VALUES {rows}) "  # noqa: S608 - literals made above
        "AS t(species, avg_sepal_length_cm, avg_sepal_width_cm)"
    )
    said = tour.SEPAL_MEANS.verdict(query, con=iris)
    assert said.status in (exercises.OK, exercises.WRONG), said
    finite = [
        v
        for v in (*lengths, width)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ]
    if len(finite) < 4:
        assert said.status == exercises.WRONG, said


@settings(max_examples=300, deadline=None)
@given(st.text() | st.sampled_from(["'open", '"open', "select 1 /*", "select 1; select 2"]))
def test_the_trino_answer_box_judges_any_text(text) -> None:
    """Whatever is typed (open quotes, emoji, right-to-left marks, NUL), the box says why it
    refuses it or lets one SELECT through: it never raises."""
    from playground.lessons import trino_crud

    said = trino_crud.refused(text)
    assert said is None or said.strip()


def test_a_query_box_starts_empty_and_says_what_it_is_for() -> None:
    box = exercises.query_box("select count(*) from lake.payment ...", rows=3)
    assert box.value == ""
    assert "your query" in box.text  # the label the browser tests find the box by
