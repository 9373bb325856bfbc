"""Lesson 04's technique is in its cells: a learner who drops `utc=...` from the call that builds
the assets gives the DuckDB IO manager `payment_date` as it is, whose partition bounds DuckDB then
reads in the machine's time zone (here UTC+05:45): replacing May deletes the end of April 30 and
keeps the end of May 31 twice, and the lesson's own comparison of DuckDB's months with Iceberg's
says False. The lesson runs headless from an edited copy; that PostgreSQL has payments in both
shifted hours is read from PostgreSQL directly."""

import pytest

from playground.services import postgres
from tests.helpers import run_lesson_without

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

UTC_BOUNDS = ', utc=_name == "duckdb"'
SHIFTED = """select
  count(*) filter (where payment_date >= '2022-04-30 18:15:00+00'
                     and payment_date < '2022-05-01 00:00:00+00'),
  count(*) filter (where payment_date >= '2022-05-31 18:15:00+00'
                     and payment_date < '2022-06-01 00:00:00+00')
from payment"""


def test_without_utc_bounds_duckdb_holds_other_months(fresh_data_dir, tmp_path) -> None:
    result = run_lesson_without("04_io_managers", UTC_BOUNDS, tmp_path)  # at UTC+05:45
    with postgres.connect("pagila") as conn:
        end_of_april, end_of_may = conn.execute(SHIFTED).fetchone()
    assert end_of_april > 0 and end_of_may > 0  # the hours the local bounds move
    assert "same in DuckDB: False" in result.stdout.splitlines(), result.stdout[-3000:]
