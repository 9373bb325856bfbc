"""`playground bench extract`: every extraction method and two anchors, each in its own process."""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile

from psycopg import sql

from playground.bench.measure import run_measured
from playground.extract.api import DEFAULT_BATCH_ROWS, METHODS
from playground.services import postgres

BENCH_DB = "playground_bench"
# pandas-concat stands for the original dagster-playground's recipe, so it runs with that
# recipe's `chunksize=10000`; the other methods use the extract command's default batch size.
_ORIGINAL_CHUNKSIZE = 10_000
_DUCKDB_ANCHOR = """
import sys
from playground.engines import duck
con = duck.connect()
con.execute("SET preserve_insertion_order = false")
con.execute("ATTACH '" + sys.argv[1].replace("'", "''") + "' AS pg (TYPE postgres, READ_ONLY)")
table, target = sys.argv[2], sys.argv[3]
con.execute(f"COPY (SELECT * FROM pg.public.{table}) TO '{target}' (FORMAT parquet)")
"""


def ensure_bench_table(rows: int, print_=print) -> tuple[str, str]:
    """A payment-shaped table of `rows` rows in the embedded server (built once); (url, name)."""
    name = f"bench_payment_{rows}"
    postgres.ensure_database(BENCH_DB)
    with postgres.connect(BENCH_DB, autocommit=True) as conn:
        found = conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]
        if not found:
            print_(f"building {name} ({rows:,} rows) in database {BENCH_DB!r} ...")
            conn.execute(
                sql.SQL(
                    "create table {} as select g::int as payment_id, (g % 599 + 1)::int as "
                    "customer_id, (g % 2 + 1)::int as staff_id, g::int as rental_id, "
                    "((g % 1000) / 100.0 + 0.99)::numeric(5,2) as amount, "
                    "timestamptz '2022-02-01Z' + (g % 15552000) * interval '1 second' "
                    "as payment_date from generate_series(1, {}) g"
                ).format(sql.Identifier(name), sql.Literal(rows))
            )
            conn.execute(sql.SQL("analyze {}").format(sql.Identifier(name)))
    return postgres.url(BENCH_DB), name


def drop_bench_tables(names: list[str]) -> None:
    """Drop payment-shaped tables `ensure_bench_table` built (a lesson cleans up after itself)."""
    with postgres.connect(BENCH_DB, autocommit=True) as conn:
        for name in names:
            if not name.startswith("bench_payment_"):
                raise ValueError(f"{name!r} is not a bench table")
            conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier(name)))


def measure_extract(
    url: str, table: str, method: str, scratch: str, batch_rows: int = 100_000
) -> dict:
    """One `playground extract` run in its own process, into a catalog under `scratch`."""
    command = [
        sys.executable, "-m", "playground.cli", "extract", "--source", url, "--table", table,
        "--to", f"bench.{table}_{method.replace('-', '_')}", "--method", method,
        "--batch-rows", str(batch_rows),
    ]  # fmt: skip
    env = {**os.environ, "PLAYGROUND_DATA_DIR": scratch}
    seconds, peak, code, output = run_measured(command, env=env)
    if code != 0:
        raise RuntimeError(f"extract with {method} failed:\n{output[-2000:]}")
    return {"method": method, "batch_rows": batch_rows, "seconds": seconds, "peak_rss": peak}


def bench_extract(rows: int, methods: list[str], repeat: int = 1, print_=print) -> list[dict]:
    """Each extraction method and two anchors, each run in its own process, on `rows` rows.

    With `repeat` > 1 the whole set runs that many rounds, interleaved (anchor, methods, anchor,
    methods, ...) so that a slow moment of the machine hits every method alike; the table shows
    the median seconds and the highest peak RSS of each.
    """
    if repeat < 1:
        raise ValueError("--repeat must be at least 1")
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        choices = ", ".join(METHODS)
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from {choices}")
    url, table = ensure_bench_table(rows, print_)
    scratch = tempfile.mkdtemp(prefix="playground-bench-")
    env = {**os.environ, "PLAYGROUND_DATA_DIR": scratch}
    runs: list[tuple[str, list[str] | None]] = [
        ("anchor: COPY binary → /dev/null", [str(postgres.psql_path()), "-X", "-q", "-d", url,
         "-o", os.devnull,
         "-c", f"COPY (SELECT * FROM {table}) TO STDOUT (FORMAT binary)"]),  # noqa: S608
        ("anchor: DuckDB → Parquet", [sys.executable, "-c", _DUCKDB_ANCHOR,
         postgres.libpq_dsn(BENCH_DB), table, f"{scratch}/anchor.parquet"]),
        *((method, None) for method in methods),
    ]  # fmt: skip
    samples: dict[str, list[tuple[float, int]]] = {name: [] for name, _ in runs}
    try:
        for round_ in range(repeat):
            if repeat > 1:
                print_(f"round {round_ + 1} of {repeat}")
            for name, command in runs:
                if command is None:
                    original = name == "pandas-concat"
                    batch_rows = _ORIGINAL_CHUNKSIZE if original else DEFAULT_BATCH_ROWS
                    run = measure_extract(url, table, name, scratch, batch_rows=batch_rows)
                    seconds, peak = run["seconds"], run["peak_rss"]
                else:
                    seconds, peak, code, output = run_measured(command, env=env)
                    if code != 0:
                        raise RuntimeError(f"{name} failed:\n{output[-2000:]}")
                samples[name].append((seconds, peak))
                print_(f"  {name}: {seconds:.2f} s, {peak / 2**20:.0f} MB")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results = [
        {
            "method": name,
            "seconds": statistics.median(s for s, _ in samples[name]),
            "peak_rss": max(p for _, p in samples[name]),
            "runs": [s for s, _ in samples[name]],
        }
        for name, _ in runs
    ]
    copy, duckdb_anchor = results[0]["seconds"], results[1]["seconds"]
    print_(f"{rows:,} rows" + (f", median of {repeat} runs" if repeat > 1 else ""))
    if "pandas-concat" in methods:
        print_(f"(pandas-concat with the original recipe's chunksize={_ORIGINAL_CHUNKSIZE:,})")
    print_(
        f"{'method':<32} {'seconds':>8} {'rows/s':>12} {'peak RSS':>10} {'×DuckDB':>8} {'×COPY':>7}"
    )
    for result in results:
        seconds, peak = result["seconds"], result["peak_rss"]
        print_(
            f"{result['method']:<32} {seconds:>8.2f} {rows / seconds:>12,.0f} "
            f"{peak / 2**20:>7.0f} MB {seconds / duckdb_anchor:>7.2f}× {seconds / copy:>6.2f}×"
        )
    return results
