"""Lesson 02's technique is in its cells: a learner who reads the raw Parquet path from the
table's folder (a glob) instead of the files of its current snapshot sees the lesson's own
comparison say the reports over `payment` differ between the paths, once the table was replaced
once (its old files stay on disk for time travel). The lesson runs headless from an edited copy;
the table is replaced by `playground extract` before, and which reports read `payment` is read
from their SQL."""

import re

import pytest

from playground import extract
from playground.bench import analytics
from playground.datasets.pagila import seed
from tests.helpers import run_lesson_without

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
