"""Month partitions on every date/timestamp column of every pagila table, with every method.

Each partition of the Iceberg table must hold exactly the rows PostgreSQL puts in that month
(UTC), NULLs in Iceberg's null partition, and the count reported must be the committed one.
"""

import psycopg
import pytest
from psycopg import sql

from playground import extract, lakehouse
from playground.datasets.pagila import seed
from playground.services import postgres

pytestmark = pytest.mark.slow

DATABASE = "pagila_partitions"
TABLES = (*seed.DIMENSIONS, "rental", "payment")


@pytest.fixture(scope="module")
def pagila() -> str:
    seed.seed(0.1, database=DATABASE, progress=lambda _line: None)
    return postgres.url(DATABASE)


def _date_columns(url: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'public' and table_name = any(%s) and (data_type = 'date' "
            "or data_type like 'timestamp%%') order by table_name, column_name",
            (list(TABLES),),
        ).fetchall()


def _months_in_postgres(url: str, table: str, column: str, data_type: str) -> dict:
    value = sql.Identifier(column)
    if data_type == "timestamp with time zone":
        value = sql.SQL("({} at time zone 'UTC')").format(value)
    query = sql.SQL("select to_char({v}, 'YYYY-MM'), count(*) from {t} group by 1").format(
        v=value, t=sql.Identifier(table)
    )
    with psycopg.connect(url) as conn:
        return dict(conn.execute(query).fetchall())


def _months_in_iceberg(identifier: str, column: str) -> dict:
    partitions = lakehouse.catalog().load_table(identifier).inspect.partitions()
    months = {}
    for partition, count in zip(
        partitions.column("partition").to_pylist(),
        partitions.column("record_count").to_pylist(),
        strict=True,
    ):
        number = partition[f"{column}_month"]  # months since 1970-01, or None
        key = None if number is None else f"{1970 + number // 12}-{number % 12 + 1:02d}"
        months[key] = months.get(key, 0) + count
    return months


def test_the_columns_cover_pagila(pagila) -> None:
    columns = _date_columns(pagila)
    assert len({t for t, _, _ in columns}) == len(TABLES)  # every table has last_update
    assert {
        ("rental", "return_date"),
        ("payment", "payment_date"),
        ("customer", "create_date"),
    } <= {(t, c) for t, c, _ in columns}


@pytest.mark.parametrize("method", extract.METHODS)
def test_every_date_column_partitions_exactly(pagila, method, fresh_data_dir) -> None:
    nulls_seen = 0
    for table, column, data_type in _date_columns(pagila):
        target = f"p.{table}_{column}"
        quiet = dict(source=pagila, method=method, progress=lambda _line: None)
        result = extract.extract(target, table=table, partition_by=f"{column}:month", **quiet)
        expected = _months_in_postgres(pagila, table, column, data_type)
        assert _months_in_iceberg(target, column) == expected, (table, column)
        assert result.rows == sum(expected.values()), (table, column)
        nulls_seen += expected.get(None, 0)
    assert nulls_seen > 0  # rentals still out: return_date is NULL


@pytest.mark.parametrize("method", extract.METHODS)
def test_overwrite_partitions_replaces_the_null_partition(pagila, method, fresh_data_dir) -> None:
    quiet = dict(source=pagila, method=method, partition_by="return_date:month",
                 progress=lambda _line: None)  # fmt: skip
    extract.extract("p.rental", table="rental", **quiet)
    before = _months_in_iceberg("p.rental", "return_date")
    # rewrite the null partition and one month with only some of their rows
    subset = (
        "select * from rental where (return_date is null and rental_id % 2 = 0) or "
        "(return_date >= '2022-03-01Z' and return_date < '2022-04-01Z' and rental_id % 3 = 0)"
    )
    result = extract.extract("p.rental", query=subset, mode="overwrite-partitions", **quiet)
    with psycopg.connect(pagila) as conn:
        nulls, march = conn.execute(
            "select count(*) filter (where return_date is null and rental_id % 2 = 0), "
            "count(*) filter (where return_date >= '2022-03-01Z' and return_date < '2022-04-01Z' "
            "and rental_id % 3 = 0) from rental"
        ).fetchone()
    after = _months_in_iceberg("p.rental", "return_date")
    assert result.rows == nulls + march
    assert after == {**before, None: nulls, "2022-03": march}
    assert 0 < nulls < before[None] and 0 < march < before["2022-03"]
    snapshot = lakehouse.catalog().load_table("p.rental").current_snapshot()
    assert int(snapshot.summary["added-records"]) == result.rows
