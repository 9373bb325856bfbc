"""Lesson 03's technique is in its cells: a learner who deletes the rollback call sees the
lesson's comparison of the table with its source (pagila's payment) turn red; with the call, the
two are equal (tests/lessons/test_trino_lesson.py). The rows and the total of payment are read
from PostgreSQL directly, the lesson's table with PyIceberg. The lesson runs headless against
the suite's Trino, from an edited copy as a learner's edit would leave it."""

import re
from decimal import Decimal

import pytest

from playground import lakehouse
from playground.services import postgres
from tests.helpers import run_lesson_without, settings_env

pytestmark = [pytest.mark.stack, pytest.mark.notebook, pytest.mark.slow]

ROLLBACK = '    sql(f"alter table {table} execute rollback_to_snapshot({first})")\n'
SAID = re.compile(
    r"^rolled back: (\d+) rows summing ([\d.]+); (.+): (\d+) rows summing ([\d.]+); "
    r"equal: (True|False)$",
    re.M,
)


def payment_in_postgres(stack) -> tuple[int, Decimal]:
    with postgres.connect("pagila", stack) as conn:
        return conn.execute("select count(*), sum(amount) from payment").fetchone()


def rollback_said(stdout: str) -> tuple[int, Decimal, int, Decimal, str]:
    (found,) = SAID.findall(stdout)
    ours, our_total, _source, theirs, their_total, equal = found
    return int(ours), Decimal(our_total), int(theirs), Decimal(their_total), equal


def test_without_the_rollback_the_comparison_turns_red(trino_stack, tmp_path) -> None:
    result = run_lesson_without("03_trino_crud", ROLLBACK, tmp_path, env=settings_env(trino_stack))
    rows, total = payment_in_postgres(trino_stack)
    ours, our_total, theirs, their_total, equal = rollback_said(result.stdout)
    assert (theirs, their_total, equal) == (rows, total, "False"), result.stdout[-3000:]
    assert (ours, our_total) != (rows, total)
    # what PyIceberg reads at the end: the changes were never undone (999001 inserted twice)
    table = lakehouse.read("lesson_trino.payments", settings=trino_stack)
    assert table.column("payment_id").to_pylist().count(999001) == 2
