"""One catalog, three engines: what PyIceberg writes Trino reads, and what Trino writes (including
row-level DELETE, UPDATE and MERGE, which leave delete files) PyIceberg and DuckDB read alike."""

import datetime as dt
import uuid
from decimal import Decimal

import pyarrow as pa
import pytest

from playground import lakehouse
from playground.engines import duck, trino

pytestmark = [pytest.mark.stack, pytest.mark.slow]


@pytest.fixture
def namespace(trino_stack):
    name = f"engines_{uuid.uuid4().hex[:8]}"
    yield name
    cat = lakehouse.catalog(trino_stack)
    for identifier in cat.list_tables(name) if (name,) in cat.list_namespaces() else []:
        cat.purge_table(identifier)
    if (name,) in cat.list_namespaces():
        cat.drop_namespace(name)


def _duckdb_rows(settings, identifier: str, sql: str):
    with duck.connect(settings=settings) as con:
        lakehouse.register_duckdb_view(con, identifier, "t", settings)
        return con.execute(sql).fetchall()


def test_pyiceberg_writes_and_trino_reads_the_same_values_and_types(trino_stack, namespace):
    when = dt.datetime(2022, 5, 1, 12, 30, tzinfo=dt.UTC)
    data = pa.table({
        "payment_id": pa.array([1, 2], pa.int32()),
        "amount": pa.array([Decimal("4.99"), Decimal("10.00")], pa.decimal128(5, 2)),
        "payment_date": pa.array([when, when], pa.timestamp("us", tz="UTC")),
        "note": pa.array(["ok", None], pa.string()),
        "features": pa.array([["Trailers"], []], pa.list_(pa.string())),
    })  # fmt: skip
    lakehouse.write_table(f"{namespace}.payments", data, settings=trino_stack)
    table = trino.qualified("iceberg", namespace, "payments")
    names, rows = trino.execute(f"select * from {table} order by payment_id", settings=trino_stack)
    assert names == ["payment_id", "amount", "payment_date", "note", "features"]
    assert rows[0][:2] == (1, Decimal("4.99")) and rows[1][1] == Decimal("10.00")
    assert rows[0][2].astimezone(dt.UTC) == when and rows[1][3] is None
    assert rows[0][4] == ["Trailers"] and rows[1][4] == []
    _, types = trino.execute(
        "select column_name, data_type from iceberg.information_schema.columns "
        "where table_schema = ? and table_name = 'payments' order by ordinal_position",
        [namespace], settings=trino_stack,
    )  # fmt: skip
    assert [t for _, t in types] == [
        "integer", "decimal(5,2)", "timestamp(6) with time zone", "varchar", "array(varchar)",
    ]  # fmt: skip


def test_trino_row_level_changes_are_read_alike_by_pyiceberg_and_duckdb(trino_stack, namespace):
    schema = trino.qualified("iceberg", namespace)
    table = trino.qualified("iceberg", namespace, "rentals")
    trino.execute(f"create schema {schema}", settings=trino_stack)
    trino.execute(
        f"create table {table} as select rental_id, customer_id, rental_date "
        f"from {trino.qualified('postgresql', 'public', 'rental')}",
        settings=trino_stack,
    )
    trino.execute(f"delete from {table} where rental_id % 10 = 0", settings=trino_stack)
    trino.execute(f"update {table} set customer_id = 0 where rental_id % 10 = 1",
                  settings=trino_stack)  # fmt: skip
    trino.execute(
        f"merge into {table} t using (values (1, 999), (1000000, 7)) s(id, customer) "
        "on t.rental_id = s.id when matched then update set customer_id = s.customer "
        "when not matched then insert (rental_id, customer_id) values (s.id, s.customer)",
        settings=trino_stack,
    )
    _, expected = trino.execute(
        f"select count(*), sum(customer_id), sum(rental_id) from {table}", settings=trino_stack
    )
    count, customers, ids = expected[0]
    identifier = f"{namespace}.rentals"
    files = trino.execute(
        f"select content from {trino.qualified('iceberg', namespace, 'rentals$files')}",
        settings=trino_stack,
    )[1]
    assert any(content != 0 for (content,) in files)  # delete files exist
    read = lakehouse.read(identifier, settings=trino_stack)
    assert read.num_rows == count
    assert sum(read.column("customer_id").to_pylist()) == customers
    assert sum(read.column("rental_id").to_pylist()) == ids
    rows = _duckdb_rows(
        trino_stack, identifier, "select count(*), sum(customer_id), sum(rental_id) from t"
    )
    assert rows == [(count, customers, ids)]
