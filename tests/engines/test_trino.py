"""playground.engines.trino: quoting offline; queries against the stack's Trino when it is up."""

import uuid

import pytest

from playground.config.settings import ServiceUnavailable
from playground.engines import trino


def test_quote_and_qualified() -> None:
    assert trino.quote("payment") == '"payment"'
    assert trino.quote('we"ird') == '"we""ird"'
    assert trino.qualified("iceberg", "pagila_raw", "payment") == (
        '"iceberg"."pagila_raw"."payment"'
    )
    for bad in ("", "a\x00b"):
        with pytest.raises(ValueError, match="not a usable identifier"):
            trino.quote(bad)


def test_unreachable_trino_names_the_fix(stack_settings) -> None:
    with pytest.raises(ServiceUnavailable, match=r"Trino at http://localhost:\d+/v1/info") as err:
        trino.execute("select 1", settings=stack_settings)
    assert "docker compose up --wait" in str(err.value)


@pytest.mark.stack
def test_trino_crud_on_iceberg(trino_stack) -> None:
    settings = trino_stack
    schema = f"test_{uuid.uuid4().hex[:8]}"
    table = trino.qualified("iceberg", schema, "things")
    trino.execute(f"create schema {trino.qualified('iceberg', schema)}", settings=settings)
    try:
        trino.execute(f"create table {table} (id integer, name varchar)", settings=settings)
        trino.execute(f"insert into {table} values (1, 'a'), (2, 'b')", settings=settings)
        trino.execute(f"update {table} set name = ? where id = ?", ["B", 2], settings=settings)
        trino.execute(f"delete from {table} where id = ?", [1], settings=settings)
        rows = trino.fetch_arrow(f"select id, name from {table}", settings=settings).to_pylist()
        assert rows == [{"id": 2, "name": "B"}]
    finally:
        trino.execute(f"drop table if exists {table}", settings=settings)
        trino.execute(f"drop schema if exists {trino.qualified('iceberg', schema)}",
                      settings=settings)  # fmt: skip


@pytest.mark.stack
def test_pyiceberg_table_read_by_trino_and_duckdb(trino_stack) -> None:
    import pyarrow as pa

    from playground import lakehouse
    from playground.engines import duck

    settings = trino_stack
    namespace = f"test_{uuid.uuid4().hex[:8]}"
    data = pa.table({"id": list(range(500)), "amount": [i / 4 for i in range(500)]})
    lakehouse.write_table(f"{namespace}.shared", data, settings=settings)
    try:
        names, rows = trino.execute(
            f"select count(*), sum(id) from {trino.qualified('iceberg', namespace, 'shared')}",
            settings=settings,
        )
        assert rows == [(500, 124750)]
        with duck.connect(settings=settings) as con:
            lakehouse.register_duckdb_view(con, f"{namespace}.shared", "shared", settings)
            assert con.execute("select count(*), sum(id) from shared").fetchone() == (500, 124750)
    finally:
        cat = lakehouse.catalog(settings)
        cat.purge_table(f"{namespace}.shared")
        cat.drop_namespace(namespace)


@pytest.mark.stack
def test_doctor_in_stack_mode_passes_against_the_running_trino(trino_stack) -> None:
    from playground.cli import doctor

    found = {check.component: check for check in doctor.checks(trino_stack)}
    for component in ("stack: postgres", "stack: object store", "stack: trino", "iceberg catalog"):
        assert found[component].ok, found[component].line()
    assert "Trino 476" in found["stack: trino"].detail
    for catalog in ("iceberg", "postgresql", "tpch"):
        assert catalog in found["stack: trino"].detail


@pytest.mark.stack
def test_trino_reads_pagila_through_its_postgresql_catalog(trino_stack) -> None:
    from playground.services import postgres

    _, rows = trino.execute(
        f"select count(*) from {trino.qualified('postgresql', 'public', 'rental')}",
        settings=trino_stack,
    )
    with postgres.connect(trino_stack.pagila_db, trino_stack) as conn:
        assert rows == [(conn.execute("select count(*) from rental").fetchone()[0],)]


@pytest.mark.stack
@pytest.mark.slow
def test_large_results_come_through_the_spooling_protocol(trino_stack, monkeypatch) -> None:
    """Rows arrive as segments the workers spooled to the bucket, not as JSON pages."""
    from trino import client

    spooled = []

    class Counted(client.SpooledSegment):
        def __init__(self, *args, **kwargs) -> None:
            spooled.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(client, "SpooledSegment", Counted)
    where = "from tpch.sf1.orders where orderkey <= 800000"
    table = trino.fetch_arrow(f"select orderkey, totalprice {where}", settings=trino_stack)
    _, [(rows, keys)] = trino.execute(
        f"select count(*), sum(orderkey) {where}", settings=trino_stack
    )
    assert table.num_rows == rows > 100_000
    assert sum(table.column("orderkey").to_pylist()) == keys
    assert spooled  # at least one segment, fetched from the bucket through the coordinator
