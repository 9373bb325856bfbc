"""Lesson 07's technique is in its cells. A learner who deletes the insert from DuckLake's month
replace (keeping its delete) sees the lesson's row-by-row comparison with PostgreSQL turn red for
DuckLake, every May payment missing, while Iceberg's stays equal, and the check of exercise 07.2
refuses the worked answer; one who deletes the filter of Iceberg's overwrite sees Iceberg lose
April. The lesson runs headless from an edited copy, as a learner's edit would leave it; the
payments of each month are counted by PostgreSQL directly."""

import pytest

from playground.lessons import exercises
from playground.services import postgres
from tests.helpers import run_lesson_without
from tests.lessons.test_ducklake import own_data_dir  # noqa: F401 - the fixture
from tests.notebooks import verdicts

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

INSERT = """        con.execute(
            "insert into lake.payment select * from two_months "
            "where payment_date >= $start and payment_date < $end",
            may,
        )
"""
MAY = """select count(*), array_agg(distinct staff_id order by staff_id) from payment
where payment_date >= '2022-05-01 00:00:00+00' and payment_date < '2022-06-01 00:00:00+00'"""


def test_without_the_insert_of_the_month_replace_may_is_missing(
    own_data_dir,  # noqa: F811 - the fixture imported above
    tmp_path,
) -> None:
    answers = {exercises.ANSWERS_VARIABLE: exercises.ALL}
    result = run_lesson_without("07_iceberg_and_ducklake", INSERT, tmp_path, env=answers)
    with postgres.connect("pagila") as conn:
        may, staff = conn.execute(MAY).fetchone()
    assert may > 0
    compared = (
        f"April and May against PostgreSQL: {{'DuckLake': '{may:,} rows missing, 0 rows "
        "PostgreSQL no longer has', 'Iceberg': 'equal, row by row'}"
    )
    assert compared in result.stdout.splitlines(), result.stdout[-3000:]
    assert verdicts(result.stdout) == {
        "07.1": exercises.TODO,
        "07.1@worked": exercises.OK,  # the first load is untouched by the edit
        "07.1@wrong": exercises.WRONG,
        "07.2": exercises.TODO,
        "07.2@worked": exercises.WRONG,  # May is gone from DuckLake: the worked answer sums none
        "07.2@wrong": exercises.WRONG,
    }
    assert f"staff {staff} expected, your query returns []" in result.stdout


FILTER = """, overwrite_filter=(
            f"payment_date >= '{may['start'].isoformat()}' "
            f"and payment_date < '{may['end'].isoformat()}'"
        )"""
APRIL = """select count(*) from payment
where payment_date >= '2022-04-01 00:00:00+00' and payment_date < '2022-05-01 00:00:00+00'"""


def test_without_the_filter_of_icebergs_overwrite_april_is_lost(
    own_data_dir,  # noqa: F811 - the fixture imported above
    tmp_path,
) -> None:
    """`iceberg.overwrite(rows)` with no filter replaces the whole table with May: April's
    payments, and the row inserted in June, are gone from Iceberg, not from DuckLake."""
    result = run_lesson_without("07_iceberg_and_ducklake", FILTER, tmp_path)
    with postgres.connect("pagila") as conn:
        (april,) = conn.execute(APRIL).fetchone()
    assert april > 0
    compared = (
        "April and May against PostgreSQL: {'DuckLake': 'equal, row by row', "
        f"'Iceberg': '{april:,} rows missing, 0 rows PostgreSQL no longer has'}}"
    )
    assert compared in result.stdout.splitlines(), result.stdout[-3000:]
