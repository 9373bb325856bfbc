"""`playground extract` under bad input and interference: one clear line, nothing committed."""

import sys
import threading
import time

import pytest

from playground import extract, lakehouse
from playground.config import months
from playground.extract import readers
from playground.extract import source as extract_source
from playground.services import postgres
from tests.helpers import free_port, run

pytestmark = pytest.mark.slow

SOURCE_DB = "extract_errors"


@pytest.fixture(scope="module")
def source() -> str:
    postgres.ensure_database(SOURCE_DB)
    with postgres.connect(SOURCE_DB, autocommit=True) as conn:
        conn.execute("drop table if exists spans; create table spans (id int, span interval)")
        conn.execute("insert into spans values (1, interval '1 day')")
        conn.execute(
            "drop table if exists pay; create table pay as select g as payment_id, "
            "timestamptz '2022-01-20Z' + g * interval '3 hours' as payment_date "
            "from generate_series(1, 500) g"
        )
    return postgres.url(SOURCE_DB)


def _cli(*args: str, env: dict | None = None):
    return run([sys.executable, "-m", "playground.cli", "extract", *args], env=env, timeout=120)


def test_cli_errors_are_one_line_with_the_fix(source, fresh_data_dir) -> None:
    env = {"PLAYGROUND_DATA_DIR": str(fresh_data_dir)}
    cases = [
        (["--source", source, "--table", "spans", "--to", "raw.spans"],
         "spans.span has type interval, which the lakehouse cannot hold. Extract a --query that "
         'casts it, e.g. "span"::text'),
        (["--source", "pagila", "--table", "pay", "--to", "raw.pay"],
         "--source 'pagila' is not a PostgreSQL URL; use postgresql://"),
        (["--source", source, "--table", "pay", "--to", "raw." + "p" * 64],
         "at most 63 characters"),
        (["--source", f"postgresql://u@127.0.0.1:{free_port()}/x", "--table", "pay", "--to",
          "raw.pay"], "cannot reach the source PostgreSQL"),
    ]  # fmt: skip
    for args, message in cases:
        result = _cli(*args, env=env)
        assert result.returncode == 2, result.stdout
        assert message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert lakehouse.catalog().list_namespaces() == []


def test_unreachable_configured_source_does_not_mention_a_url() -> None:
    url = f"postgresql://u@127.0.0.1:{free_port()}/x"
    with pytest.raises(extract.ExtractError) as given:
        extract_source.describe(url, "select 1", "t", given=True)
    with pytest.raises(extract.ExtractError) as configured:
        extract_source.describe(url, "select 1", "t", given=False)
    assert "Check --source" in str(given.value)
    assert "--source" not in str(configured.value) and "playground doctor" in str(configured.value)


def _competing_writer(cat, rounds: int):
    """Wrap `cat.load_table` so that another writer commits right after each of our first loads."""
    original = cat.load_table
    other_writer = lakehouse.catalog()  # its own catalog connection
    done = []

    def load_then_compete(identifier):
        table = original(identifier)
        if len(done) < rounds:
            done.append(identifier)
            import pyarrow as pa

            other = other_writer.load_table(identifier)
            row = other.scan(limit=1).to_arrow()
            other.append(pa.table({"payment_id": pa.array([-1], pa.int32()),
                                   "payment_date": row["payment_date"]}))  # fmt: skip
        return table

    cat.load_table = load_then_compete
    return done


def test_commit_conflict_is_retried_once_then_reported(source, fresh_data_dir) -> None:
    quiet = dict(source=source, progress=lambda _line: None)
    extract.extract("raw.pay", table="pay", **quiet)
    cat = lakehouse.catalog()
    competed = _competing_writer(cat, rounds=1)
    result = extract.extract("raw.pay", table="pay", cat=cat, **quiet)
    assert competed == ["raw.pay"] and result.rows == 500
    assert lakehouse.read("raw.pay").num_rows == 500  # the retry replaced the other writer's row
    cat = lakehouse.catalog()
    _competing_writer(cat, rounds=1000)  # PyIceberg retries 4 times, then extract once more
    before = lakehouse.snapshots("raw.pay")
    staged = set((fresh_data_dir / "warehouse").rglob("extract-*"))
    with pytest.raises(
        extract.ExtractError, match="another writer committed to raw.pay at the same"
    ):
        extract.extract("raw.pay", table="pay", cat=cat, **quiet)
    history = lakehouse.snapshots("raw.pay")
    assert all(h["operation"] == "append" for h in history[len(before) :])  # only the competitor's
    assert lakehouse.read("raw.pay").num_rows == 500 + len(history) - len(before)
    assert set((fresh_data_dir / "warehouse").rglob("extract-*")) == staged  # its files are gone


def test_losing_the_race_to_create_a_table_is_retried(source, fresh_data_dir) -> None:
    quiet = dict(source=source, progress=lambda _line: None)
    cat = lakehouse.catalog()
    original = cat.table_exists
    raced = []

    def exists_then_another_creates(identifier) -> bool:
        answer = original(identifier)
        if not raced:
            raced.append(extract.extract("raw.race", table="pay", **quiet))  # its own catalog
        return answer

    cat.table_exists = exists_then_another_creates
    result = extract.extract("raw.race", table="pay", cat=cat, **quiet)
    assert raced and result.rows == 500
    assert lakehouse.read("raw.race").num_rows == 500  # replaced, not doubled


@pytest.mark.parametrize("method", extract.METHODS)
def test_source_replaced_mid_read_says_so(method, fresh_postgres) -> None:
    postgres.ensure_database("extract_replaced")
    url = postgres.url("extract_replaced")
    query = "select 1 as id, pg_sleep(5)::text as slept"

    def replace_source() -> None:
        time.sleep(1.5)
        postgres.drop_database("extract_replaced")  # what a seed's swap does to a reader
        postgres.ensure_database("extract_replaced")

    replacer = threading.Thread(target=replace_source)
    replacer.start()
    try:
        with pytest.raises(extract.ExtractError, match="the source database was replaced"):
            extract.extract("raw.replaced", query=query, source=url, method=method,
                            progress=lambda _line: None)  # fmt: skip
    finally:
        replacer.join()
    assert not lakehouse.catalog().table_exists("raw.replaced")


def test_copy_progress_reports_bytes_written(tmp_path) -> None:
    done, lines = threading.Event(), []
    folder = tmp_path / "staged"
    folder.mkdir()

    def written() -> int:
        return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())

    reporter = threading.Thread(target=readers._report_progress, args=(done, written, lines.append))
    reporter.start()
    for i in range(3):
        (folder / f"part-{i}.parquet").write_bytes(b"x" * 2**20)
        time.sleep(2.1)
    done.set()
    reporter.join()
    sizes = [float(line.split("MB")[0]) for line in lines]
    assert len(sizes) >= 2 and sizes == sorted(sizes) and sizes[-1] >= 2.0
    assert all("MB written after" in line for line in lines)


def test_month_bounds_roll_over_the_year() -> None:
    assert [str(d) for d in months.month_bounds("2022-12")] == ["2022-12-01", "2023-01-01"]
