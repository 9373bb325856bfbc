"""DuckDB over the lakehouse (lesson 02's helpers): pagila at SF 0.2 in a data directory of its own
(its own embedded PostgreSQL), extracted once; the three paths must agree with each other and with
PostgreSQL."""

from decimal import Decimal
from pathlib import Path

import pytest

from playground import lakehouse
from playground.bench import analytics
from playground.config.settings import get_settings
from playground.services import postgres

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path_factory.mktemp("analytics") / "data"))
        from playground.datasets.pagila import seed

        seed.seed(0.2, database="pagila", progress=lambda _line: None)
        try:
            yield analytics.prepare(1, progress=lambda _line: None)
        finally:
            postgres.stop(get_settings())


def test_prepare_extracts_every_table_the_queries_read(source) -> None:
    assert source == analytics.Source(1, "pagila", "pagila")
    cat = lakehouse.catalog()
    with postgres.connect("pagila") as conn:
        for table in analytics.TABLES:
            (rows,) = conn.execute(f'select count(*) from "{table}"').fetchone()  # noqa: S608
            assert cat.load_table(f"pagila.{table}").scan().to_arrow().num_rows == rows > 0
    # A second call finds everything in place and extracts nothing.
    lines: list[str] = []
    assert analytics.prepare(1, progress=lines.append) == source
    assert lines == []


def test_the_three_paths_return_identical_reports(source) -> None:
    results = {}
    for path in analytics.PATHS:
        con = analytics.connect(path, source)
        results[path] = {
            name: con.execute(sql).fetchall() for name, sql in analytics.QUERIES.items()
        }
    for name in analytics.QUERIES:
        assert results["iceberg"][name], name
        assert results["parquet"][name] == results["iceberg"][name], name
        assert results["postgres"][name] == results["iceberg"][name], name
    assert [len(r) for r in results["iceberg"].values()][1:4] == [48, 10, 10]  # 16 categories × 3


def test_revenue_by_month_equals_postgres(source) -> None:
    con = analytics.connect("iceberg", source)
    months = con.execute(analytics.QUERIES["revenue_by_month"]).fetchall()
    with postgres.connect("pagila") as conn:
        expected = conn.execute(
            "select date_trunc('month', payment_date at time zone 'UTC'), count(*), sum(amount) "
            "from payment group by 1 order by 1"
        ).fetchall()
    assert [(m.replace(tzinfo=None), n, r) for m, n, r in months] == expected
    assert sum(r for _, _, r in months) > Decimal(0)


def test_a_month_reads_one_file_through_iceberg_and_every_file_raw(source) -> None:
    files = analytics.data_files("pagila.payment")
    months = len(
        analytics.connect("iceberg", source)
        .execute(analytics.QUERIES["revenue_by_month"])
        .fetchall()
    )
    assert len(files) == months  # one file per month at this size
    sql = analytics.month_query("2022-05")
    assert analytics.files_read(analytics.connect("iceberg", source), sql) == 1
    assert analytics.files_read(analytics.connect("parquet", source), sql) == len(files)
    (scan,) = analytics.scans(analytics.connect("iceberg", source), sql)
    assert scan["Function"] == "ICEBERG_SCAN" and "__month=2022-05" in scan["Filename(s)"]


def test_raw_files_are_the_current_snapshots_not_the_folder(source) -> None:
    """After a month is replaced, the folder still holds the old file; the list does not."""
    from playground import extract

    extract.extract(
        "pagila.payment", table="payment", source=postgres.url("pagila"),
        partition_by="payment_date:month", mode="overwrite-partitions", progress=lambda _: None,
    )  # fmt: skip
    current = analytics.data_files("pagila.payment")
    folder = Path(current[0]).parents[2]
    on_disk = list(folder.rglob("*.parquet"))
    assert len(on_disk) == 2 * len(current)
    parquet = analytics.connect("parquet", source)
    iceberg = analytics.connect("iceberg", source)
    count = "select count(*), sum(amount) from payment"
    assert parquet.execute(count).fetchall() == iceberg.execute(count).fetchall()


def test_bad_names_are_refused(source) -> None:
    with pytest.raises(ValueError, match="unknown path 'spark'"):
        analytics.connect("spark", source)
    with pytest.raises(ValueError, match="not a month"):
        analytics.month_query("2022-05'; drop table payment; --")
    assert analytics.source_for(10).namespace == "pagila_sf10"
    assert analytics.source_for(0.5).database == "pagila_sf0_5"


def test_time_queries_reports_every_query(source) -> None:
    timings = analytics.time_queries(analytics.connect("parquet", source), "parquet", repeat=1)
    assert [t["query"] for t in timings] == list(analytics.QUERIES)
    assert all(t["seconds"] > 0 and t["path"] == "parquet" for t in timings)
    assert timings[0]["rows"] == len(analytics.data_files("pagila.payment"))


def test_bench_duckdb_small_run() -> None:
    """`playground bench duckdb` end to end at a small scale: its own scratch server, every path
    in its own process, the one-month query reading one file through Iceberg."""
    from playground.bench.duckdb import bench_duckdb

    lines: list[str] = []
    report = bench_duckdb(0.1, repeat=1, print_=lines.append)
    assert sorted(report["paths"]) == sorted(analytics.PATHS)
    for path, found in report["paths"].items():
        assert [t["query"] for t in found["timings"]] == list(analytics.QUERIES), path
        assert found["peak_rss"] > 0
    iceberg, parquet = report["paths"]["iceberg"], report["paths"]["parquet"]
    assert iceberg["month_files_read"] == 1
    assert parquet["month_files_read"] == iceberg["payment_files"] > 1
    assert report["ratio"] > 0 and any("Iceberg ÷ raw Parquet" in line for line in lines)
