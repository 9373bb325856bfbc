"""Exercises that check themselves: the verdicts, and lesson 00's checks fed right and wrong
answers against the lakehouse (lesson 03's run against Trino in test_trino_lesson.py)."""

import pytest

from playground import lakehouse
from playground.datasets.iris import dataset
from playground.engines import duck
from playground.lessons import exercises, tour
from playground.lessons.exercises import Exercise


def _positive(answer: int) -> str | None:
    return None if answer > 0 else f"{answer} is not above 0"


POSITIVE = Exercise("x.1", "a positive number", _positive, 3, -1)


def test_a_verdict_for_each_kind_of_answer(monkeypatch) -> None:
    monkeypatch.delenv(exercises.ANSWERS_VARIABLE, raising=False)
    assert POSITIVE.verdict(None).status == POSITIVE.verdict("  ").status == exercises.TODO
    assert POSITIVE.verdict(2).status == exercises.OK
    wrong = POSITIVE.verdict(-5)
    assert (wrong.status, wrong.message) == (exercises.WRONG, "-5 is not above 0")
    failed = POSITIVE.verdict("text")  # the check itself raises: said in one line
    assert failed.status == exercises.WRONG and failed.message.startswith("it failed: TypeError")
    assert wrong.line == "exercise x.1: ❌ not yet right: -5 is not above 0"


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


def test_the_chunked_loading_checks_read_the_measurements() -> None:
    """Lesson 01's checks on measurements shaped like its own (its run takes half a minute: the
    suite runs it once, as shipped, and feeds the checks here)."""
    import pandas as pd

    from playground.lessons import chunked_loading

    growth = pd.DataFrame({
        "method": ["pandas-concat", "pandas-chunks"] * 2,
        "rows": [100_000, 100_000, 400_000, 400_000],
        "peak_rss_mb": [240.0, 210.0, 355.0, 212.0],
    })  # fmt: skip
    for exercise in chunked_loading.EXERCISES:
        worked = exercise.solve(growth=growth) if exercise.solve else exercise.worked
        wrong = exercise.mistake(growth=growth) if exercise.mistake else exercise.wrong
        assert exercise.check(worked, growth=growth) is None, exercise.key
        assert exercise.check(wrong, growth=growth) is not None, exercise.key
    assert round(chunked_loading._bytes_per_row(growth)) == 402  # 115 MB over 300,000 rows
    said = chunked_loading.check_grows("pandas-chunks", growth)
    assert said == "pandas-chunks's peak rose by 2 MB between the two sizes; another rose more"
