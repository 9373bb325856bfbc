"""Lesson 03 against a real Trino: every step leaves Trino, PyIceberg and DuckDB agreeing."""

import re
import sys

import pytest

from playground.engines import trino
from playground.lessons import exercises, trino_crud
from playground.orchestration.promote import lessons_dir
from tests.helpers import run, settings_env
from tests.lessons.test_trino_crud_cells import payment_in_postgres, rollback_said
from tests.notebooks import verdicts

pytestmark = [pytest.mark.stack, pytest.mark.notebook, pytest.mark.slow]
LESSON = lessons_dir() / "03_trino_crud.py"


def test_the_trino_lesson_runs_against_trino(trino_stack) -> None:
    # one run: every check judges the answer as shipped, the worked one and the wrong one
    env = {**settings_env(trino_stack), exercises.ANSWERS_VARIABLE: exercises.ALL}
    result = run([sys.executable, str(LESSON)], env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    wanted = {}
    for exercise in trino_crud.EXERCISES:
        wanted |= {exercise.key: exercises.TODO, f"{exercise.key}@worked": exercises.OK,
                   f"{exercise.key}@wrong": exercises.WRONG}  # fmt: skip
    assert verdicts(result.stdout) == wanted
    steps = re.findall(
        r"after (.+?): trino=(\d+) pyiceberg=(\d+) duckdb=(\d+) delete_files=(\d+)", result.stdout
    )
    assert [s[0] for s in steps] == [
        "create table as", "insert, update, delete, merge", "rollback to the first snapshot",
        "insert again", "optimize, expire snapshots", "schema and partition evolution",
    ]  # fmt: skip
    for step, in_trino, in_pyiceberg, in_duckdb, _ in steps:
        assert in_trino == in_pyiceberg == in_duckdb, step
    counts = {s[0]: int(s[1]) for s in steps}
    deletes = {s[0]: int(s[4]) for s in steps}
    assert deletes["insert, update, delete, merge"] > 0  # row-level changes wrote delete files
    assert counts["rollback to the first snapshot"] == counts["create table as"]
    assert counts["insert again"] == counts["create table as"] + 1
    assert deletes["optimize, expire snapshots"] == 0  # compaction folded them in
    assert f"time travel: {counts['create table as']} rows at the first snapshot" in result.stdout
    # rolled back, the table holds what its source holds, as PostgreSQL counts and sums it
    rows, total = payment_in_postgres(trino_stack)
    assert rows == counts["create table as"]
    assert rollback_said(result.stdout) == (rows, total, rows, total, "True"), result.stdout[-3000:]


def test_the_trino_lesson_hint_names_the_mistake(trino_stack) -> None:
    """The snapshot after the MERGE instead of the one before: the hint says which it is."""

    def sql(statement):
        return trino.execute(statement, settings=trino_stack)

    trino_crud.build(sql)  # the exercise table, as the lesson builds it
    said = trino_crud.BEFORE_MERGE.verdict(trino_crud.LATEST_SQL, sql=sql, settings=trino_stack)
    assert said.status == exercises.WRONG
    assert "the MERGE's own snapshot" in said.message


def test_the_answer_box_refuses_a_drop_and_the_table_survives(trino_stack) -> None:
    """What a learner once typed into the box: refused unrun, and the table still answers."""

    def sql(statement):
        return trino.execute(statement, settings=trino_stack)

    trino_crud.build(sql)
    _, before = sql(f"select count(*), sum(amount) from {trino_crud.TABLE}")  # noqa: S608
    for exercise in trino_crud.EXERCISES:
        said = exercise.verdict(f"drop table {trino_crud.TABLE}", sql=sql, settings=trino_stack)
        assert said.status == exercises.WRONG
        assert said.message.startswith("your answer failed: not run: only a SELECT")
    _, after = sql(f"select count(*), sum(amount) from {trino_crud.TABLE}")  # noqa: S608
    assert after == before and after[0][0] > 0
