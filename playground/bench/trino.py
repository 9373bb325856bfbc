"""`playground bench trino`: three ways to store a frame as an Iceberg table Trino serves.

Each method runs in its own process on the same payment-shaped frame (seeded, so identical):
- `insert`: batched `INSERT ... VALUES` statements through the Trino client (1,000 rows each);
- `add-files`: the frame staged as Parquet in the bucket, then `ALTER TABLE ... EXECUTE add_files`;
- `pyiceberg`: one PyIceberg commit to the shared catalog, which Trino's `iceberg` catalog reads.
Every table is then counted through Trino, and read back whole through the Trino client (rows/s).
Needs stack-mode settings (the compose stack, or the suite's local one).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from playground import lakehouse
from playground.bench.measure import child_report, run_measured
from playground.config.settings import ServiceUnavailable, get_settings
from playground.engines import trino
from playground.engines.duck import literal

METHODS = ("insert", "add-files", "pyiceberg")
COLUMNS = ("payment_id integer, customer_id integer, staff_id integer, rental_id integer, "
           "amount decimal(5,2), payment_date timestamp(6) with time zone")  # fmt: skip


def frame(rows: int) -> pa.Table:
    rng = np.random.default_rng(42)
    cents = rng.integers(0, 1200, rows)
    seconds = 1_643_673_600 + rng.integers(0, 200 * 86_400, rows)  # from 2022-02-01
    return pa.table({
        "payment_id": pa.array(np.arange(1, rows + 1, dtype=np.int32)),
        "customer_id": pa.array(rng.integers(1, 600, rows, dtype=np.int32)),
        "staff_id": pa.array(rng.integers(1, 3, rows, dtype=np.int32)),
        "rental_id": pa.array(rng.integers(1, rows + 1, rows, dtype=np.int32)),
        "amount": pa.array([Decimal(int(c)) / 100 for c in cents], pa.decimal128(5, 2)),
        "payment_date": pa.array(seconds * 1_000_000, pa.timestamp("us", tz="UTC")),
    })  # fmt: skip


def _values(batch: pa.Table) -> str:
    """SQL literals of a frame made here (numbers and timestamps only, never user text)."""
    rows = []
    for r in batch.to_pylist():
        when = r["payment_date"].strftime("%Y-%m-%d %H:%M:%S.%f")
        rows.append(f"({r['payment_id']}, {r['customer_id']}, {r['staff_id']}, {r['rental_id']}, "
                    f"decimal '{r['amount']}', timestamp '{when} UTC')")  # fmt: skip
    return ", ".join(rows)


def _write(method: str, data: pa.Table, namespace: str) -> None:
    settings = get_settings()
    table = trino.qualified("iceberg", namespace, method.replace("-", "_"))
    trino.execute(f"create schema if not exists {trino.qualified('iceberg', namespace)}",
                  settings=settings)  # fmt: skip
    if method == "pyiceberg":
        lakehouse.write_table(f"{namespace}.pyiceberg", data, settings=settings)
        return
    trino.execute(f"create table {table} ({COLUMNS})", settings=settings)
    if method == "insert":
        with trino.connect("iceberg", namespace, settings) as conn:
            cursor = conn.cursor()
            for batch in data.to_batches(max_chunksize=1000):
                values = _values(pa.Table.from_batches([batch]))
                cursor.execute(f"insert into {table} values {values}")  # noqa: S608
                cursor.fetchall()
        return

    s3 = fs.S3FileSystem(
        access_key=settings.s3_access_key, secret_key=settings.s3_secret_key,
        endpoint_override=settings.s3_endpoint, scheme=settings.s3_endpoint.split(":")[0],
        region=settings.s3_region,
    )  # fmt: skip
    folder = f"{settings.s3_bucket}/staging/{uuid.uuid4().hex}"
    pq.write_table(data, f"{folder}/part-0.parquet", filesystem=s3)

    location = literal(f"s3://{folder}/")
    trino.execute(f"alter table {table} execute add_files(location => {location}, "
                  "format => 'PARQUET')", settings=settings)  # fmt: skip


def _child(method: str, rows: int, namespace: str) -> None:
    data = frame(rows)
    started = time.monotonic()
    _write(method, data, namespace)
    wrote = time.monotonic() - started
    table = trino.qualified("iceberg", namespace, method.replace("-", "_"))
    _, counted = trino.execute(f"select count(*) from {table}")  # noqa: S608
    report = {"method": method, "rows": rows, "write_seconds": wrote, "trino_rows": counted[0][0]}
    if method == "pyiceberg":
        started = time.monotonic()
        read = trino.fetch_arrow(f"select * from {table}")  # noqa: S608
        report.update(read_rows=read.num_rows, read_seconds=time.monotonic() - started)
    print("BENCH " + json.dumps(report), flush=True)


def bench_trino(rows: int, insert_rows: int, print_=print) -> list[dict]:
    settings = get_settings()
    if not settings.is_stack:
        raise ServiceUnavailable(
            "bench trino writes the catalog Trino reads, which only the stack shares: set "
            "PLAYGROUND_MODE=stack (with the stack running: `playground stack up`)."
        )
    trino.info(settings)  # a one-line error when Trino is down, before any child starts
    namespace = f"bench_{uuid.uuid4().hex[:8]}"
    results = []
    for method in METHODS:
        count = insert_rows if method == "insert" else rows
        seconds, peak, code, output = run_measured(
            [sys.executable, "-m", "playground.bench.trino", method, str(count), namespace],
            env=dict(os.environ),
        )
        if code != 0:
            raise RuntimeError(f"{method} failed:\n{output[-3000:]}")
        report = child_report(output)
        report.update(peak_rss=peak, process_seconds=seconds)
        results.append(report)
    direct = next(r for r in results if r["method"] == "pyiceberg")
    direct_rate = direct["rows"] / direct["write_seconds"]
    print_(
        f"{'method':<12} {'rows':>10} {'write s':>9} {'rows/s':>12} {'×PyIceberg':>11} {'RSS':>8}"
    )
    for r in results:
        rate = r["rows"] / r["write_seconds"]
        print_(f"{r['method']:<12} {r['rows']:>10,} {r['write_seconds']:>9.2f} {rate:>12,.0f} "
               f"{direct_rate / rate:>10.1f}× {r['peak_rss'] / 2**20:>6.0f} MB")  # fmt: skip
        if r["trino_rows"] != r["rows"]:
            raise RuntimeError(
                f"{r['method']}: Trino counts {r['trino_rows']:,} rows, not {r['rows']:,}"
            )
    read_rows, read_seconds = direct["read_rows"], direct["read_seconds"]
    print_(f"read back through Trino: {read_rows:,} rows in {read_seconds:.1f} s "
           f"({read_rows / read_seconds:,.0f} rows/s)")  # fmt: skip
    return results


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), sys.argv[3])
