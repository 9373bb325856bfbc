"""Lesson 02's technique is in its cells: a learner who reads the raw Parquet path from the
table's folder (a glob) instead of the files of its current snapshot sees the lesson's own
comparison say the reports over `payment` differ between the paths, once the table was replaced
once (its old files stay on disk for time travel). The lesson runs headless from an edited copy;
the table is replaced by `playground extract` before, and which reports read `payment` is read
from their SQL.

Its last part, against the suite's stack: a learner who deletes DuckDB's retry after its refused
commit sees the lesson's comparison with PostgreSQL's answer to the same race turn red; the ids
PostgreSQL holds are read from PostgreSQL and the Iceberg table's with PyIceberg, directly."""

import re

import pytest

from playground import extract, lakehouse
from playground.bench import analytics
from playground.datasets.pagila import seed
from playground.lessons import duckdb_writes
from playground.services import postgres
from tests.helpers import run_lesson_without
from tests.lessons.test_lessons import share_trino_login, stack_endpoints

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

INDENT = " " * 16  # inside the loop of the cell's `_connect`
CURRENT_FILES = (
    f'{INDENT}_files = ", ".join(duck.literal(_f) for _f in analytics.data_files(_identifier))\n'
)
FOLDER_GLOB = (
    f"{INDENT}_folder = lakehouse.catalog().load_table(_identifier).location()\n"
    f'{INDENT}_files = duck.literal(_folder.removeprefix("file://") + "/**/*.parquet")\n'
)


def test_a_folder_glob_reads_replaced_files_and_the_paths_differ(fresh_postgres, tmp_path) -> None:
    seed.seed(scale=1, target="embedded", database="pagila", progress=lambda _line: None)
    for _ in range(2):  # the first load, then the same rows again: a replace
        extract.extract("pagila.payment", table="payment", partition_by="payment_date:month",
                        progress=lambda _line: None)  # fmt: skip
    result = run_lesson_without("02_duckdb_lakehouse", CURRENT_FILES, tmp_path, instead=FOLDER_GLOB)
    (same,) = re.findall(r"^same on every path: (.+)$", result.stdout, re.M)
    reads_payment = {name: "payment" not in sql for name, sql in analytics.QUERIES.items()}
    assert same == str(reads_payment), same
    assert False in reads_payment.values() and True in reads_payment.values()


RETRY = "        rest.execute(_fay)  # the retry: a new transaction, on the new head\n"


def test_without_the_retry_the_race_differs_from_postgres(
    trino_stack, fresh_postgres, tmp_path
) -> None:
    share_trino_login(trino_stack)
    env = stack_endpoints(trino_stack)
    result = run_lesson_without("02_duckdb_lakehouse", RETRY, tmp_path, env=env)
    with postgres.connect(duckdb_writes.TWIN_DATABASE) as conn:
        in_postgres = [r[0] for r in conn.execute("select id from wallet order by id").fetchall()]
    iceberg = lakehouse.catalog(trino_stack).load_table(duckdb_writes.TABLE)
    in_iceberg = sorted(iceberg.scan().to_arrow().column("id").to_pylist())
    assert 6 in in_postgres and 6 not in in_iceberg, (in_postgres, in_iceberg)
    said = (
        f"rest: ids after the conflict {in_iceberg}, after the retry {in_iceberg}, "
        "equals PostgreSQL: False"
    )
    assert said in result.stdout.splitlines(), result.stdout[-3000:]
    # the walk before it still matches PostgreSQL step by step
    assert len(re.findall(r"^rest: .*, equals PostgreSQL: True$", result.stdout, re.M)) == 7
