"""`playground bench incremental --scale SF`: lesson 05's ways of loading a day's changes,
against a full reload, each in its own process.

A scratch data directory gets its own embedded PostgreSQL, seeded at SF. Not timed: a
replication slot is made, then `rental`, `payment` and `customer` are loaded into one namespace
per way (so no way's work is another's starting point), then one day of `playground changes`.
Then each way runs in a process of its own, from the same state: (a) a full reload of the three
tables, (b) the months whose row digests differ, replaced, (c) the change data capture catch-up
from the slot. Every way starts with PostgreSQL's cache warm from the first loads. After each
way another process reads both sides whole (psycopg and PyIceberg's own scan, not the code
under test) and compares them row by row. The scratch server is stopped and the folder removed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter

from playground.bench.measure import child_report, run_measured
from playground.bench.seed import scratch_pagila
from playground.config.settings import get_settings
from playground.extract import cdc, incremental
from playground.extract.reconcile import Source
from playground.lakehouse.tables import catalog
from playground.services import postgres

SLOT = "playground_bench_incremental"
TABLES = {  # table → (key, the month column of its Iceberg table)
    "rental": ("rental_id", "rental_date"),
    "payment": ("payment_id", "payment_date"),
    "customer": ("customer_id", None),
}
WAYS = {  # way → its namespace
    "full reload": "bench_full",
    "changed months": "bench_months",
    "change data capture": "bench_cdc",
}


def bench_incremental(scale: float, print_=print) -> dict:
    found: dict[str, dict] = {}
    with scratch_pagila(scale, print_) as env:
        print_("a replication slot, then the first load into one namespace per way (not timed) ...")
        _child(["prepare"], env)
        print_("one day of `playground changes` (not timed) ...")
        day = subprocess.run([sys.executable, "-m", "playground.cli", "changes", "--days", "1"],
                             env=env, capture_output=True, text=True)  # fmt: skip
        if day.returncode != 0:
            raise RuntimeError(f"the day of changes failed:\n{(day.stdout + day.stderr)[-2000:]}")
        print_("  " + day.stdout.strip().replace("\n", "\n  "))
        stale = _child(["verify", WAYS["full reload"]], env)["verdict"]
        print_(f"  the first load against PostgreSQL after the day: {stale}")
        for way in WAYS:
            print_(f"{way}, in its own process ...")
            seconds, peak, code, output = run_measured(
                [sys.executable, "-m", "playground.bench.incremental", "way", way], env=env
            )
            if code != 0:
                raise RuntimeError(f"{way} failed:\n{output[-3000:]}")
            found[way] = {**child_report(output), "process_seconds": seconds, "peak_rss": peak}
            found[way]["verdict"] = _child(["verify", WAYS[way]], env)["verdict"]
    _print(scale, found, print_)
    return found


def _child(args: list[str], env: dict) -> dict:
    command = [sys.executable, "-m", "playground.bench.incremental", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return child_report(done.stdout)


def _print(scale: float, found: dict, print_) -> None:
    print_(f"lesson 05's ways at SF {scale:g}: {', '.join(TABLES)} brought up to date")
    print_("  (seconds: the way's own work; process: with its imports; read: rows fetched to load, "
           "change records for CDC)")  # fmt: skip
    print_(
        f"  {'way':<22} {'seconds':>8} {'process':>8} {'read':>10} {'written':>10} {'peak RSS':>10}"
    )
    for way, report in found.items():
        print_(
            f"  {way:<22} {report['seconds']:>8.2f} {report['process_seconds']:>8.2f} "
            f"{report['read']:>10,} {report['written']:>10,} {report['peak_rss'] / 2**20:>7,.0f} MB"
        )
    for way, report in found.items():
        print_(
            f"  {way}: {report['detail']}; the lakehouse against PostgreSQL: {report['verdict']}"
        )
    full = found["full reload"]
    for way in ("changed months", "change data capture"):
        print_(
            f"  {way} over the full reload: {full['seconds'] / found[way]['seconds']:.1f}x (the "
            f"way), {full['process_seconds'] / found[way]['process_seconds']:.1f}x (its process)"
        )


# --- the children: `python -m playground.bench.incremental prepare | way NAME | verify NS` ------


def _prepare() -> dict:

    database = get_settings().pagila_db
    with postgres.connect(database) as conn:  # the slot first: a change made during the loads
        cdc.start(conn, SLOT, TABLES)  # below is in the slot (replaying it changes nothing)
    source = Source(database)
    loaded = {}
    for namespace in WAYS.values():
        for table, (_key, month) in TABLES.items():
            loaded[f"{namespace}.{table}"] = incremental.full_reload(
                source, table, f"{namespace}.{table}", month
            )
    return loaded


def _way(way: str) -> dict:
    """One way, timed from its first connection to its last commit (imports are not counted)."""

    database, namespace = get_settings().pagila_db, WAYS[way]
    started = time.perf_counter()
    if way == "change data capture":
        said: list[str] = []
        with postgres.connect(database) as conn:
            tables = {t: (f"{namespace}.{t}", key) for t, (key, _month) in TABLES.items()}
            done = cdc.catch_up(conn, SLOT, catalog(get_settings()), tables, said.append)
        read = int(said[0].split()[1])  # "peeked N changes up to LSN"
        written = sum(rows for _removed, rows in done.values())
        detail = (
            f"{read:,} changes from the slot, {sum(r for r, _ in done.values()):,} keys removed"
        )
    else:
        source = Source(database)
        read, replaced = 0, []
        for table, (_key, month) in TABLES.items():
            if way == "full reload":
                read += incremental.full_reload(source, table, f"{namespace}.{table}", month)
            else:
                rows, months = incremental.replace_changed_months(
                    source, table, f"{namespace}.{table}", month
                )
                read += rows
                replaced += [f"{table} {m}" for m in months]
        written = read
        detail = f"every row hashed on both sides, then replaced {', '.join(replaced) or 'nothing'}"
        if way == "full reload":
            detail = f"{len(TABLES)} tables replaced whole"
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "read": read, "written": written, "detail": detail}


def _rows_differ(postgres_rows: Counter, lake_rows: Counter) -> str | None:
    missing, extra = postgres_rows - lake_rows, lake_rows - postgres_rows
    if not missing and not extra:
        return None
    return f"{sum(missing.values()):,} rows missing, {sum(extra.values()):,} rows extra"


def _verify(namespace: str) -> dict:
    """Every row of each table, read whole on both sides (psycopg; PyIceberg's scan), compared."""

    settings = get_settings()
    cat, problems, rows = catalog(settings), [], 0
    with postgres.connect(settings.pagila_db) as conn:
        for table in TABLES:
            cursor = conn.execute(f'select * from public."{table}"')  # noqa: S608 - a fixed name
            names = [column.name for column in cursor.description]
            theirs = Counter(cursor.fetchall())
            rows += theirs.total()
            lake = cat.load_table(f"{namespace}.{table}").scan().to_arrow().select(names)
            ours = Counter(zip(*(lake.column(n).to_pylist() for n in names), strict=True))
            if (said := _rows_differ(theirs, ours)) is not None:
                problems.append(f"{table}: {said}")
    return {"verdict": "; ".join(problems) or f"equal, row by row ({rows:,} rows)"}


if __name__ == "__main__":
    step, *rest = sys.argv[1:]
    result = {"prepare": _prepare, "way": _way, "verify": _verify}[step](*rest)
    print("BENCH " + json.dumps(result), flush=True)
