"""Extraction PostgreSQL → Iceberg: type round trips, methods agree, atomicity, partitions."""

import decimal
import sys
from datetime import UTC, date, datetime

import psycopg
import pytest

from playground import extract, lakehouse
from playground.engines import duck
from playground.extract import pgtypes, sink
from playground.services import postgres
from tests.helpers import EXTRACT_PROGRESS, free_port, kill_when

pytestmark = pytest.mark.slow

SOURCE_DB = "extract_source"

TYPES_DDL = """
drop table if exists every_type;
drop type if exists mood;
drop domain if exists year4;
create type mood as enum ('sad', 'ok', 'happy');
create domain year4 as integer check (value between 1901 and 2155);
create table every_type (
    id integer primary key, small smallint, big bigint, price numeric(5,2), ratio real,
    score double precision, name text, code varchar(8), padded character(6), flag boolean,
    day date, at_local timestamp, at_utc timestamp with time zone, picture bytea,
    features text[], feeling mood, released year4, words tsvector
);
insert into every_type values
 (1, -32768, 9007199254740993, 999.99, 1.5, 2.25, 'Zoë ''quoted''', 'ab', 'pad', true,
  '2022-02-14', '2022-02-14 15:16:03.123456', '2022-02-14 15:16:03.5+02', '\\x00ff10',
  '{Trailers,"Deleted Scenes"}', 'happy', 2006, to_tsvector('english', 'Academy Dinosaur')),
 (2, null, null, null, null, null, null, null, null, null, null, null, null, null,
  null, null, null, ''),
 (3, 7, -1, -0.01, -0.0, 1e300, '', 'x', 'abcdef', false, '1901-01-01',
  '1999-12-31 23:59:59', '1970-01-01 00:00:00+00', '\\x', '{}', 'sad', 1901, 'a:1 b:2');
"""


@pytest.fixture(scope="module")
def source() -> str:
    postgres.ensure_database(SOURCE_DB)
    with postgres.connect(SOURCE_DB, autocommit=True) as conn:
        conn.execute(TYPES_DDL)
        conn.execute("drop table if exists odd; create table odd (id int, span interval)")
        conn.execute("insert into odd values (1, interval '1 day')")
        conn.execute(
            "drop table if exists pay; create table pay as select g as payment_id, "
            "(g % 50)::numeric(5,2) as amount, timestamptz '2022-01-20Z' + g * interval '3 hours' "
            "as payment_date from generate_series(1, 2000) g"
        )
    return postgres.url(SOURCE_DB)


def _expected_rows(source: str) -> list[dict]:
    """The source rows as psycopg reads them, in the mapped representation."""
    with psycopg.connect(source) as conn:
        cursor = conn.execute(
            "select id, small, big, price, ratio, score, name, code, padded::text, flag, day, "
            "at_local, at_utc, picture, features, feeling::text, released, words::text "
            "from every_type order by id"
        )
        names = [d.name for d in cursor.description]
        names[-3], names[8] = "feeling", "padded"
        names[-1] = "words"
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.mark.parametrize("method", extract.METHODS)
def test_every_type_round_trips(source, method, fresh_data_dir) -> None:
    target = f"raw.every_type_{method.replace('-', '_')}"
    result = extract.extract(target, table="every_type", source=source, method=method,
                             progress=lambda _line: None)  # fmt: skip
    assert result.rows == 3
    table = lakehouse.read(target)
    got = sorted(table.to_pylist(), key=lambda r: r["id"])
    expected = _expected_rows(source)
    for row in expected:  # bytes come back as bytes, memoryview from psycopg
        row["picture"] = bytes(row["picture"]) if row["picture"] is not None else None
    assert got == expected
    assert got[0]["at_utc"] == datetime(2022, 2, 14, 13, 16, 3, 500000, tzinfo=UTC)
    assert got[0]["price"] == decimal.Decimal("999.99")
    assert got[0]["padded"] == "pad"  # char(6) without its padding, like PostgreSQL's ::text
    assert got[0]["words"] == "'academi':1 'dinosaur':2"
    assert got[2]["day"] == date(1901, 1, 1)
    schema = {
        f.name: str(f.field_type) for f in lakehouse.catalog().load_table(target).schema().fields
    }
    assert schema["small"] == "int" and schema["big"] == "long"
    assert schema["price"] == "decimal(5, 2)" and schema["at_utc"] == "timestamptz"
    assert schema["at_local"] == "timestamp" and schema["features"] == "list<string>"
    # DuckDB reads the same values through iceberg_scan
    with duck.connect() as con:
        lakehouse.register_duckdb_view(con, target, "t")
        rows = con.execute("select id, price, feeling, released, features from t order by id")
        assert rows.fetchall()[0] == (1, decimal.Decimal("999.99"), "happy", 2006,
                                      ["Trailers", "Deleted Scenes"])  # fmt: skip


def test_methods_agree_on_pagila(fresh_data_dir) -> None:
    from playground.datasets.pagila import seed

    seed.seed(0.1, database="pagila_extract", progress=lambda _line: None)
    url = postgres.url("pagila_extract")
    with psycopg.connect(url) as conn:
        months = conn.execute(
            "select count(distinct date_trunc('month', payment_date at time zone 'UTC')) "
            "from payment"
        ).fetchone()[0]
    tables = {}
    for method in extract.METHODS:
        name = f"raw.payment_{method.replace('-', '_')}"
        extract.extract(name, table="payment", source=url, method=method, batch_rows=700,
                        partition_by="payment_date:month", progress=lambda _line: None)  # fmt: skip
        rows = lakehouse.read(name).sort_by("payment_id")
        tables[method] = rows
        partitions = lakehouse.catalog().load_table(name).inspect.partitions()
        assert partitions.num_rows == months
    first = tables["duckdb"]
    assert first.num_rows == 1604
    for method, rows in tables.items():
        assert rows.equals(first), method


def test_extract_is_idempotent_and_modes(source, fresh_data_dir) -> None:
    quiet = dict(source=source, progress=lambda _line: None)
    extract.extract("raw.pay", table="pay", partition_by="payment_date:month", **quiet)
    extract.extract("raw.pay", table="pay", partition_by="payment_date:month", **quiet)
    table = lakehouse.read("raw.pay")
    assert table.num_rows == 2000
    assert len(set(table.column("payment_id").to_pylist())) == 2000
    extract.extract("raw.pay", table="pay", partition_by="payment_date:month", mode="append",
                    method="adbc", **quiet)  # fmt: skip
    assert lakehouse.read("raw.pay").num_rows == 4000
    extract.extract("raw.pay", table="pay", partition_by="payment_date:month", **quiet)
    # overwrite one month: February's rows replaced by doubled amounts, other months untouched
    february = ("select payment_id, (amount * 2)::numeric(5,2) as amount, payment_date "
                "from pay where "
                "payment_date >= '2022-02-01Z' and payment_date < '2022-03-01Z'")  # fmt: skip
    extract.extract("raw.pay", query=february, partition_by="payment_date:month",
                    mode="overwrite-partitions", **quiet)  # fmt: skip
    with pytest.raises(extract.ExtractError, match="(?s)exists with partitioning .* not none"):
        extract.extract("raw.pay", table="pay", **quiet)
    after = lakehouse.read("raw.pay").to_pylist()
    assert len(after) == 2000
    by_id = {r["payment_id"]: r for r in after}
    with psycopg.connect(source) as conn:
        for pid, amount, at in conn.execute("select payment_id, amount, payment_date from pay"):
            at = at.astimezone(UTC)  # the months are UTC months, whatever the session's zone
            in_february = at.year == 2022 and at.month == 2
            assert by_id[pid]["amount"] == (amount * 2 if in_february else amount), pid


def test_failure_midway_commits_nothing(source, fresh_data_dir, monkeypatch) -> None:
    quiet = dict(source=source, progress=lambda _line: None)
    extract.extract("raw.pay", table="pay", **quiet)
    before = lakehouse.snapshots("raw.pay")
    writes = []

    def failing_write(self, batch):
        writes.append(batch.num_rows)
        if len(writes) == 2:
            raise OSError(28, "No space left on device")
        original(self, batch)

    original = sink.ParquetSink.write
    monkeypatch.setattr(sink.ParquetSink, "write", failing_write)
    with pytest.raises(OSError, match="No space left"):
        extract.extract("raw.pay", table="pay", method="pandas-chunks", batch_rows=500, **quiet)
    writes.clear()
    with pytest.raises(OSError, match="No space left"):
        extract.extract("raw.new_table", table="pay", method="adbc", batch_rows=200, **quiet)
    assert lakehouse.snapshots("raw.pay") == before
    assert not lakehouse.catalog().table_exists("raw.new_table")
    staged = list((fresh_data_dir / "warehouse").rglob("extract-*/*.parquet"))
    files = lakehouse.catalog().load_table("raw.pay").inspect.files().column("file_path")
    committed = {f.removeprefix("file://") for f in files.to_pylist()}
    assert {str(p) for p in staged} == committed  # the failed runs left no files behind


def test_killed_run_commits_nothing(fresh_postgres) -> None:
    from playground.bench.extract import ensure_bench_table

    url, table = ensure_bench_table(1_000_000, print_=lambda _line: None)
    command = [sys.executable, "-m", "playground.cli", "extract", "--source", url,
               "--table", table, "--to", "raw.killed", "--method", "pandas-chunks",
               "--batch-rows", "20000"]  # fmt: skip
    kill_when(command, EXTRACT_PROGRESS)  # files are being written
    assert not lakehouse.catalog().table_exists("raw.killed")


def test_bad_input(source, fresh_data_dir) -> None:
    quiet = dict(progress=lambda _line: None)
    with pytest.raises(pgtypes.UnsupportedType, match=r"odd\.span has type interval"):
        extract.extract("raw.odd", table="odd", source=source, **quiet)
    with pytest.raises(extract.ExtractError, match='relation "nope" does not exist'):
        extract.extract("raw.nope", table="nope", source=source, **quiet)
    with pytest.raises(extract.ExtractError, match="syntax error"):
        extract.extract("raw.q", query="selec 1", source=source, **quiet)
    with pytest.raises(extract.ExtractError, match="not a valid table identifier"):
        extract.extract("Raw.Bad-Name", table="pay", source=source, **quiet)
    with pytest.raises(extract.ExtractError, match="not a table name"):
        extract.extract("raw.x", table="pay; drop table pay", source=source, **quiet)
    with pytest.raises(extract.ExtractError, match="cannot reach the source PostgreSQL"):
        extract.extract("raw.x", table="pay", source=f"postgresql://u@127.0.0.1:{free_port()}/x",
                        **quiet)  # fmt: skip
    with pytest.raises(extract.ExtractError, match="has no column 'nope'"):
        extract.extract("raw.x", table="pay", source=source, partition_by="nope:month", **quiet)
    with pytest.raises(extract.ExtractError, match="unknown method"):
        extract.extract("raw.x", table="pay", source=source, method="magic", **quiet)
    assert lakehouse.catalog().list_namespaces() == []


def test_time_travel_and_table_operations(fresh_data_dir) -> None:
    import pyarrow as pa

    lakehouse.write_table("ops.t", pa.table({"id": [1, 2, 3], "v": ["a", "b", "c"]}))
    first = lakehouse.snapshots("ops.t")[-1]["snapshot_id"]
    lakehouse.append("ops.t", pa.table({"id": [4], "v": ["d"]}))
    lakehouse.delete("ops.t", "id = 2")
    updated, inserted = lakehouse.upsert("ops.t", pa.table({"id": [3, 5], "v": ["C", "e"]}), ["id"])
    assert (updated, inserted) == (1, 1)
    lakehouse.overwrite("ops.t", pa.table({"id": [1], "v": ["A"]}), "id = 1")
    rows = sorted(lakehouse.read("ops.t").to_pylist(), key=lambda r: r["id"])
    assert rows == [{"id": 1, "v": "A"}, {"id": 3, "v": "C"}, {"id": 4, "v": "d"},
                    {"id": 5, "v": "e"}]  # fmt: skip
    assert lakehouse.read("ops.t", snapshot_id=first).num_rows == 3
    history = lakehouse.snapshots("ops.t")
    assert history[-1]["total_records"] == 4
    with duck.connect() as con:
        lakehouse.register_duckdb_view(con, "ops.t", "before", snapshot_id=first)
        lakehouse.register_duckdb_view(con, "ops.t", "now")
        assert con.execute("select count(*), max(v) from before").fetchone() == (3, "c")
        assert con.execute("select count(*), max(v) from now").fetchone() == (4, "e")


def test_bench_extract_small_run() -> None:
    from playground.bench import extract as bench

    lines: list[str] = []
    results = bench.bench_extract(20_000, list(extract.METHODS), print_=lines.append)
    assert [r["method"] for r in results][2:] == list(extract.METHODS)
    assert all(r["seconds"] > 0 and r["peak_rss"] > 0 for r in results)
    header = next(i for i, line in enumerate(lines) if line.startswith("method"))
    assert lines[header - 2 : header] == [
        "20,000 rows", "(pandas-concat with the original recipe's chunksize=10,000)",
    ]  # fmt: skip
    assert len(lines[header + 1 :]) == 2 + len(extract.METHODS)
    assert lines[-1].startswith("pandas-concat") and "MB" in lines[-1]


def test_bench_extract_repeats_interleave_and_report_medians() -> None:
    from playground.bench import extract as bench

    lines: list[str] = []
    results = bench.bench_extract(20_000, ["duckdb"], repeat=3, print_=lines.append)
    assert [line for line in lines if line.startswith("round")] == [
        "round 1 of 3", "round 2 of 3", "round 3 of 3",
    ]  # fmt: skip
    order = [line.split(":")[0].strip() for line in lines if line.startswith("  ")]
    assert order == ["anchor", "anchor", "duckdb"] * 3
    for result in results:
        assert len(result["runs"]) == 3
        assert result["seconds"] == sorted(result["runs"])[1]
    assert "20,000 rows, median of 3 runs" in lines


def test_bench_extract_rejects_unknown_methods_before_running() -> None:
    from playground.bench import extract as bench

    with pytest.raises(ValueError, match="unknown method.*nope.*choose from duckdb"):
        bench.bench_extract(20_000, ["duckdb", "nope"], print_=lambda _line: None)
    with pytest.raises(ValueError, match="--repeat must be at least 1"):
        bench.bench_extract(20_000, ["duckdb"], repeat=0, print_=lambda _line: None)
