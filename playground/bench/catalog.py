"""`playground bench catalog`: the stack's Iceberg REST catalog against the SQL catalog it replaced.

The bench starts a REST catalog server of its own (over the stack's catalog database and bucket)
and reports its start time and peak RSS. Each method then runs in its own process:
- `commit-rest` / `commit-sql`: one-row PyIceberg appends through the REST catalog, and through
  the SQL catalog on the same PostgreSQL tables (what stack mode used before); median latency;
- `write-duckdb` / `write-pyiceberg`: one payment-shaped frame (seeded, the `bench trino` one)
  written as a new table by DuckDB through the REST catalog, and by PyIceberg through it.
Needs the stack's PostgreSQL and object store (`playground stack up`, or the compose stack).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import psutil
import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog

from playground import lakehouse
from playground.bench.measure import child_report, run_measured
from playground.bench.trino import frame
from playground.config.names import check_identifier
from playground.config.settings import Settings, as_environment, get_settings
from playground.engines import duck
from playground.services import postgres, processes
from playground.services.net import free_port
from playground.stack import rest_catalog

METHODS = ("commit-rest", "commit-sql", "write-duckdb", "write-pyiceberg")


def _sql_catalog(settings: Settings) -> SqlCatalog:
    """The SQL catalog over the same tables the REST server keeps (stack mode before REST)."""
    return SqlCatalog(settings.catalog_name, **{
        **lakehouse.catalog_properties(settings),
        "uri": postgres.url(settings.catalog_db, settings, driver="psycopg"),
        "warehouse": settings.warehouse,
    })  # fmt: skip


def _commits(cat, identifier: str, count: int) -> tuple[list[float], list[float]]:
    """Seconds of each one-row append, whole (data file, manifests, commit) and of its commit
    alone (the catalog's `commit_table`: the REST call, or the SQL catalog's update)."""
    table = cat.create_table(identifier, schema=pa.schema([("id", pa.int64())]))
    commit_table, in_catalog = cat.commit_table, []

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return commit_table(*args, **kwargs)
        finally:
            in_catalog.append(time.perf_counter() - started)

    cat.commit_table = timed
    whole = []
    for i in range(count):
        row = pa.table({"id": pa.array([i], pa.int64())})
        started = time.perf_counter()
        table.append(row)
        whole.append(time.perf_counter() - started)
    return whole, in_catalog


def _child(method: str, rows: int, namespace: str) -> None:
    settings = replace(get_settings(), mode="stack")
    rest = lakehouse.catalog(settings)
    rest.create_namespace_if_not_exists(namespace)
    identifier = f"{namespace}.{method.replace('-', '_')}"
    check_identifier(identifier)  # it reaches SQL below
    report: dict = {"method": method}
    if method.startswith("commit"):
        cat = rest if method == "commit-rest" else _sql_catalog(settings)
        whole, in_catalog = _commits(cat, identifier, rows)
        report.update(commits=rows, median_ms=statistics.median(whole) * 1000,
                      commit_ms=statistics.median(in_catalog) * 1000)  # fmt: skip
    else:
        data = frame(rows)
        started = time.perf_counter()
        if method == "write-duckdb":
            with duck.connect(settings=settings) as con:
                duck.attach_lakehouse(con, settings)
                con.register("frame", data)
                con.execute(f"create table lake.{identifier} as select * from frame")  # noqa: S608
        else:
            table = rest.create_table(identifier, schema=data.schema)
            table.append(data)
        report.update(rows=rows, seconds=time.perf_counter() - started)
    written = rest.load_table(identifier).current_snapshot()
    report["table_rows"] = int(written.summary["total-records"]) if written else 0
    rest.purge_table(identifier)
    print("BENCH " + json.dumps(report), flush=True)


def bench_catalog(rows: int, commits: int, settings: Settings | None = None, print_=print) -> dict:
    """Start a REST catalog server, run every method against it, print and return the figures."""
    stack = replace(settings or get_settings(), mode="stack")
    port = free_port()
    workdir = Path(stack.data_dir) / "stack" / "bench-catalog"  # its log: server.log
    server = rest_catalog.start(stack, workdir, port, (stack.pg_host, stack.pg_port),
                                stack.s3_endpoint, progress=print_)  # fmt: skip
    namespace = f"bench_{uuid.uuid4().hex[:8]}"
    env = {**os.environ, **as_environment(stack),
           "PLAYGROUND_CATALOG_URI": f"http://127.0.0.1:{port}"}  # fmt: skip
    results = {}
    try:
        for method in METHODS:
            count = commits if method.startswith("commit") else rows
            seconds, peak, code, output = run_measured(
                [sys.executable, "-m", "playground.bench.catalog", method, str(count), namespace],
                env=env,
            )
            if code != 0:
                raise RuntimeError(f"{method} failed:\n{output[-3000:]}")
            results[method] = {**child_report(output), "peak_rss": peak, "process_seconds": seconds}
        # the Java server is the gate's child (stack.catalog_gate): count both
        family = [server.pid, *(c.pid for c in psutil.Process(server.pid).children())]
        server_rss = sum(processes.peak_rss(pid) for pid in family)
    finally:
        processes.stop(server.pid)
    _print(results, server.seconds_to_start, server_rss, print_)
    return {"server_start_seconds": server.seconds_to_start, "server_peak_rss": server_rss,
            **results}  # fmt: skip


def _print(results: dict, start: float, rss: int, print_) -> None:
    print_(f"REST catalog server: answered {start:.2f} s after its start, peak RSS "
           f"{rss / 2**20:.0f} MB")  # fmt: skip
    for method in ("commit-rest", "commit-sql"):
        r = results[method]
        print_(f"{method:<16} {r['commits']:>4} one-row appends: median {r['median_ms']:6.1f} ms "
               f"each, of which the catalog's commit {r['commit_ms']:6.1f} ms")  # fmt: skip
    duck_, py = results["write-duckdb"], results["write-pyiceberg"]
    for method, r in (("write-duckdb", duck_), ("write-pyiceberg", py)):
        print_(f"{method:<16} {r['rows']:>10,} rows in {r['seconds']:6.2f} s "
               f"({r['rows'] / r['seconds']:>10,.0f} rows/s), process RSS "
               f"{r['peak_rss'] / 2**20:.0f} MB")  # fmt: skip
        if r["table_rows"] != r["rows"]:
            raise RuntimeError(
                f"{method}: the table holds {r['table_rows']:,} rows, not {r['rows']:,}"
            )
    print_(f"DuckDB's write takes {duck_['seconds'] / py['seconds']:.2f}× PyIceberg's")


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), sys.argv[3])
