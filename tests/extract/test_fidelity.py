"""Odd values either arrive equal or the run fails naming table, column and key (every method).

Expected values are read from PostgreSQL with psycopg (or written here as literals), never by the
extract's own code. The generated version of these checks is `test_fidelity_generated.py`.
"""

import math
import sys
from datetime import date

import psycopg
import pytest

from playground import extract, lakehouse
from playground.services import postgres
from tests.helpers import run

pytestmark = pytest.mark.slow

SOURCE_DB = "extract_fidelity"
QUIET = {"progress": lambda _line: None}


@pytest.fixture(scope="module")
def source() -> str:
    postgres.ensure_database(SOURCE_DB)
    with postgres.connect(SOURCE_DB, autocommit=True) as conn:
        conn.execute(
            "drop table if exists pay; create table pay (payment_id int primary key, "
            "amount numeric(5,2)); insert into pay select g, g / 100.0 from generate_series(1, 9) "
            "g; update pay set amount = 'NaN' where payment_id = 7; "
            "update pay set amount = 'NaN' where payment_id = 4"  # stored after 7
        )
        conn.execute(
            "drop table if exists floats; create table floats (id int primary key, d float8, "
            "r real, ds float8[]); insert into floats values (1, 'NaN', 'NaN', '{NaN,1.5}'), "
            "(2, 'Infinity', '-Infinity', '{Infinity,NULL}'), (3, '-Infinity', 'Infinity', "
            "null), (4, null, null, '{}'), (5, 1.1, 1.1, '{-0}'), "
            "(6, 1.7976931348623157e308, 3.4028235e38, '{5e-324}')"
        )
        conn.execute(
            "drop table if exists months; create table months as select g as id, "
            "date '2022-01-20' + g * 5 as day, timestamptz '2022-01-20Z' + g * interval '5 days'"
            " as at, 'src ' || g as __month from generate_series(1, 20) g"
        )
    return postgres.url(SOURCE_DB)


def _expected(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url, options="-c TimeZone=UTC") as conn:
        return conn.execute(sql).fetchall()


def _same(got, expected) -> bool:
    """Equal, with NaN equal to NaN (and only to NaN)."""
    if isinstance(got, float) and isinstance(expected, float):
        return (math.isnan(got) and math.isnan(expected)) or got == expected
    if isinstance(got, list) and isinstance(expected, list):
        return len(got) == len(expected) and all(map(_same, got, expected))
    return got == expected and type(got) is type(expected)


@pytest.mark.parametrize("method", extract.METHODS)
def test_numeric_nan_is_refused_naming_the_first_key(source, method, fresh_data_dir) -> None:
    # before: duckdb loaded it as 0.00, the pandas methods as NULL, adbc raised ArrowInvalid
    with pytest.raises(extract.ExtractError) as refused:
        extract.extract("raw.pay", table="pay", source=source, method=method, **QUIET)
    message = str(refused.value)
    assert "pay.amount holds NaN at payment_id=4" in message, message
    assert "\n" not in message and "decimal(5, 2)" in message
    assert not lakehouse.catalog().table_exists("raw.pay")
    assert not list((fresh_data_dir / "warehouse").rglob("*.parquet"))  # staged files removed


@pytest.mark.parametrize("method", extract.METHODS)
def test_a_refused_read_holds_no_lock_on_the_source(source, method, fresh_data_dir) -> None:
    # before: adbc's connection stayed "idle in transaction" while the error was alive (its
    # generator was never closed), and the next DROP TABLE of the source waited forever
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(
            "drop table if exists held; create table held (id int primary key, n numeric(5,2)); "
            "insert into held select g, g / 100.0 from generate_series(1, 2000) g; "
            "update held set n = 'NaN' where id = 1500"
        )
    with pytest.raises(extract.ExtractError) as refused:
        extract.extract("raw.held", table="held", source=source, method=method, **QUIET)
    assert "held.n holds NaN at id=1500" in str(refused.value)
    with psycopg.connect(source, autocommit=True) as conn:  # the error is still alive here
        open_ = conn.execute(
            "select count(*) from pg_stat_activity where datname = %s and pid <> "
            "pg_backend_pid() and state like 'idle in transaction%%'",
            (SOURCE_DB,),
        ).fetchone()
        assert open_ == (0,)
        conn.execute("set lock_timeout = '5s'")
        conn.execute("drop table held")  # raises LockNotAvailable if a reader still holds it


@pytest.mark.parametrize("method", extract.METHODS)
def test_float_nan_and_infinities_round_trip(source, method, fresh_data_dir) -> None:
    # before: the pandas methods turned NaN into NULL
    extract.extract("raw.floats", table="floats", source=source, method=method, **QUIET)
    got = sorted(lakehouse.read("raw.floats").to_pylist(), key=lambda row: row["id"])
    expected = _expected(source, "select id, d, r::float8, ds from floats order by id")
    assert len(got) == len(expected) == 6
    for row, (key, d, r, ds) in zip(got, expected, strict=True):
        assert row["id"] == key
        assert _same(row["d"], d) and _same(row["r"], r) and _same(row["ds"], ds), (row, d, r, ds)
    assert got[3]["d"] is None and math.isnan(got[0]["d"])  # NULL and NaN stay apart


ODD_TIMES = [
    ("date", "'infinity'", "infinity"),
    ("date", "'-infinity'", "-infinity"),
    ("date", "'0044-03-15 BC'", "0044-03-15 BC"),
    ("date", "'10000-01-01'", "10000-01-01"),
    ("timestamp", "'0001-12-31 23:00 BC'", "0001-12-31 23:00:00 BC"),
    ("timestamp", "'infinity'", "infinity"),
    ("timestamptz", "'-infinity'", "-infinity"),
    ("timestamptz", "'0001-01-01 00:30+01'", "0001-12-31 23:30:00+00 BC"),  # year 0 in UTC
    ("timestamptz", "'10000-01-01 00:00Z'", "10000-01-01 00:00:00+00"),
    ("time", "'24:00'", "24:00:00"),
]


@pytest.mark.parametrize("method", extract.METHODS)
@pytest.mark.parametrize(("kind", "literal", "shown"), ODD_TIMES)
def test_times_the_lakehouse_cannot_hold_are_refused(
    source, method, kind, literal, shown, fresh_data_dir
) -> None:
    # before: an OverflowError or psycopg DataError traceback; time 24:00 loaded as 00:00
    query = (f"select g as id, case when g = 3 then {literal}::{kind} else "  # noqa: S608
             f"'2000-01-01 12:00'::{kind} end as v from generate_series(1, 5) g")  # fmt: skip
    with pytest.raises(extract.ExtractError) as refused:
        extract.extract("raw.odd", query=query, source=source, method=method, **QUIET)
    message = str(refused.value)
    assert f"query.v holds {shown} at id=3" in message, message
    assert "\n" not in message
    assert not lakehouse.catalog().table_exists("raw.odd")


@pytest.mark.parametrize("method", extract.METHODS)
def test_the_edges_of_years_1_and_9999_round_trip(source, method, fresh_data_dir) -> None:
    query = (
        "select 1 as id, date '0001-01-01' as d, timestamp '0001-01-01 00:00' as ts, "
        "timestamptz '0001-01-01 00:00Z' as tz, time '00:00' as t union all "
        "select 2, date '9999-12-31', timestamp '9999-12-31 23:59:59.999999', "
        "timestamptz '9999-12-31 23:59:59.999999Z', time '23:59:59.999999'"
    )
    extract.extract("raw.edges", query=query, source=source, method=method, **QUIET)
    got = [tuple(row.values()) for row in lakehouse.read("raw.edges").sort_by("id").to_pylist()]
    assert got == _expected(source, f"select * from ({query}) q order by id")  # noqa: S608
    assert got[1][1] == date(9999, 12, 31)


def test_the_cli_refuses_nan_in_one_line(source, fresh_data_dir) -> None:
    env = {"PLAYGROUND_DATA_DIR": str(fresh_data_dir)}
    result = run([sys.executable, "-m", "playground.cli", "extract", "--source", source,
                  "--table", "pay", "--to", "raw.pay"], env=env, timeout=120)  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "pay.amount holds NaN at payment_id=4" in result.stderr


@pytest.mark.parametrize("method", extract.METHODS)
def test_columns_differing_only_by_case_are_refused(source, method, fresh_data_dir) -> None:
    # before: duckdb raised a BinderException traceback; the others wrote a table DuckDB and
    # Trino cannot read
    with pytest.raises(extract.ExtractError, match='"A" and "a" differ only by case'):
        extract.extract("raw.aa", query='select 1 as "A", 2 as "a"', source=source,
                        method=method, **QUIET)  # fmt: skip


@pytest.mark.parametrize("method", extract.METHODS)
@pytest.mark.parametrize("column", ["day", "at"])
def test_overwrite_partitions_with_a_source_column_named_month(
    source, method, column, fresh_data_dir
) -> None:
    # before: duckdb partitioned by the source's own __month, deleted nothing and appended
    # again (27 rows instead of 20); a DATE partition column raised ValueError with every method
    quiet = dict(source=source, method=method, partition_by=f"{column}:month", **QUIET)
    extract.extract("raw.months", table="months", **quiet)
    # ids 1-7 fall in 2022-01 and 2022-02: both months are replaced by ids 2-7, id 1 goes
    changed = (
        "select id, day, at, __month || ' again' as __month from months where id between 2 and 7"
    )
    extract.extract("raw.months", query=changed, mode="overwrite-partitions", **quiet)
    got = [tuple(row.values()) for row in lakehouse.read("raw.months").sort_by("id").to_pylist()]
    expected = _expected(
        source, f"{changed} union all select * from months where id >= 8 order by id"
    )
    assert len(got) == 19 and got == expected
    assert [row[3] for row in got][:2] == ["src 2 again", "src 3 again"]


def test_materialize_pagila_fails_naming_a_nan_amount(fresh_postgres) -> None:
    # before: the payment asset loaded the NaN as 0.00 and every check passed
    import dagster as dg

    from playground.config.settings import get_settings
    from playground.datasets.pagila import seed
    from playground.orchestration import pipeline

    settings = get_settings()
    seed.seed(0.02, progress=lambda _line: None)
    with postgres.connect(settings.pagila_db, autocommit=True) as conn:
        first = conn.execute("select min(payment_id) from payment").fetchone()[0]
        conn.execute("update payment set amount = 'NaN' where payment_id = %s", [first])
    with (
        dg.DagsterInstance.ephemeral() as instance,
        pytest.raises(pipeline.PipelineError) as failed,
    ):
        # every pagila table with its checks (dbt's models left out: they only read them)
        pipeline.materialize_pagila(settings, instance, selection="group:pagila",
                                    progress=lambda _line: None)  # fmt: skip
    assert f".amount holds NaN at payment_id={first}," in str(failed.value), failed.value


def test_overwrite_named_months_of_a_date_column_empties_them(source, fresh_data_dir) -> None:
    # how the incremental way replaces months the source no longer has (before: ValueError)
    quiet = dict(source=source, partition_by="day:month", **QUIET)
    extract.extract("raw.days", table="months", **quiet)
    nothing = "select * from months where false"
    extract.extract("raw.days", query=nothing, mode="overwrite-partitions",
                    months=["2022-01"], **quiet)  # fmt: skip
    got = sorted(lakehouse.read("raw.days").column("id").to_pylist())
    expected = _expected(source, "select id from months where day >= '2022-02-01' order by id")
    assert got == [key for (key,) in expected] and len(got) == 18  # ids 1 and 2 were January
