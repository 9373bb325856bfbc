"""`playground bench duckdb --scale SF`: lesson 02's five queries over Iceberg, raw Parquet and
PostgreSQL, each path in its own process.

A scratch data directory gets its own embedded PostgreSQL seeded at SF (not timed), pagila's
tables are extracted into its lakehouse once (not timed), then one process per path opens DuckDB,
runs every query `repeat` times (the median counts) and a one-month query whose data files it
counts. Peak RSS is read from the OS. Target: the Iceberg path within 1.3× the raw-Parquet path on
the five queries together, and the one-month query reading one month's files only.
"""

from __future__ import annotations

import json
import sys

from playground.bench import analytics
from playground.bench.measure import child_report, run_measured
from playground.bench.seed import scratch_pagila

TARGET_RATIO = 1.3
MONTH = "2022-05"


def bench_duckdb(scale: float, repeat: int = 5, print_=print) -> dict:
    report: dict = {"scale": scale, "paths": {}}
    with scratch_pagila(scale, print_) as env:
        print_("extracting the tables into the lakehouse (not timed) ...")
        _child(["prepare"], env)
        for path in ("iceberg", "parquet", "postgres"):
            print_(f"running the queries over {path} ...")
            seconds, peak, found = _child(["path", path, str(repeat)], env)
            report["paths"][path] = {**found, "process_seconds": seconds, "peak_rss": peak}
    _print(report, print_)
    return report


def _child(arguments: list[str], env: dict) -> tuple[float, int, dict]:
    command = [sys.executable, "-m", "playground.bench.duckdb", *arguments]
    seconds, peak, code, output = run_measured(command, env=env)
    if code != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed:\n{output[-3000:]}")
    return seconds, peak, child_report(output) if arguments[0] == "path" else {}


def queries_total(report: dict, path: str) -> float:
    return sum(t["seconds"] for t in report["paths"][path]["timings"])


def _print(report: dict, print_) -> None:
    paths = report["paths"]
    names = [t["query"] for t in paths["iceberg"]["timings"]]
    print_(f"lesson 02's queries at SF {report['scale']:g} (median seconds per query)")
    print_(f"  {'query':<26}" + "".join(f"{p:>10}" for p in paths))
    for index, name in enumerate(names):
        cells = "".join(f"{paths[p]['timings'][index]['seconds']:>10.3f}" for p in paths)
        print_(f"  {name:<26}{cells}")
    print_(f"  {'five queries':<26}" + "".join(f"{queries_total(report, p):>10.3f}" for p in paths))
    print_(
        f"  {'peak RSS (MB)':<26}"
        + "".join(f"{paths[p]['peak_rss'] / 2**20:>10,.0f}" for p in paths)
    )
    ratio = queries_total(report, "iceberg") / queries_total(report, "parquet")
    iceberg, parquet = paths["iceberg"], paths["parquet"]
    print_(f"  Iceberg ÷ raw Parquet: {ratio:.2f}× (target ≤ {TARGET_RATIO})")
    print_(
        f"  one month ({MONTH}) of payment: Iceberg read {iceberg['month_files_read']} of "
        f"{iceberg['payment_files']} data files; raw Parquet opened {parquet['month_files_read']}"
    )
    report["ratio"] = ratio


def _run_child(arguments: list[str]) -> None:
    source = analytics.source_for(1)
    if arguments[0] == "prepare":
        analytics.prepare(1)
        return
    path, repeat = arguments[1], int(arguments[2])
    con = analytics.connect(path, source)
    found = {"timings": analytics.time_queries(con, path, repeat)}
    if path != "postgres":
        found["month_files_read"] = analytics.files_read(con, analytics.month_query(MONTH))
        found["payment_files"] = len(analytics.data_files(f"{source.namespace}.payment"))
    print("BENCH " + json.dumps(found), flush=True)


if __name__ == "__main__":
    _run_child(sys.argv[1:])
