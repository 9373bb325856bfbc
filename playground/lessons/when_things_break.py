"""Lesson 06: the lakehouse's promises, shown by breaking them on purpose, and its exercises.

Each step runs a real failure (a child process, or two threads racing) and recovers from it:
- the kill of an extract mid-write is in the lesson's cells (`cli`, `read_until` and
  `snapshot` are its plumbing): the catalog is unchanged and `playground clean` finds the files;
- the two writers' race is in the lesson's cells (`fresh_race_table`, `race_rows`, `in_threads`
  are its plumbing): one commit wins, the other is refused whole (retries are off for the table);
- `bad_month`: a month loaded with amounts in cents, found by comparing with PostgreSQL
  (`snapshot_sums`, `postgres_month_sums`); the rollback itself is in the lesson's cell;
- `held_warehouse`: a process holds a DuckDB file open, so a writer (dbt) cannot have it;
- `stale_pid`: a `postmaster.pid` left naming a live process that is not PostgreSQL.

Everything happens in the namespace `lesson06` and in `<data dir>/lesson06/`; the learner's
own PostgreSQL server, tables and warehouse are never touched. Run as a module, this file is
the child processes' entry point (`python -m playground.lessons.when_things_break hold ...`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from playground import extract, lakehouse
from playground.config.months import month_bounds
from playground.config.settings import get_settings
from playground.lakehouse import warehouse
from playground.lessons.exercises import Exercise
from playground.services import postgres

NAMESPACE = "lesson06"
BIG, RACE, PAYMENT = f"{NAMESPACE}.big", f"{NAMESPACE}.race", f"{NAMESPACE}.payment"
BAD_MONTH = "2022-05"
PROGRESS = r"MB written after"  # the line `playground extract` prints every 2 s while writing
# 10,000,000 generated rows: the extract prints progress (every 2 s) long before its end
QUERY = "select g as id, g % 97 as shop, md5(g::text) as note from generate_series(1, 10000000) g"


def folder() -> Path:
    path = get_settings().data_dir / "lesson06"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cli(*args: str) -> list[str]:
    """The command line of `playground <args>` run by this Python (for a child process)."""
    return [sys.executable, "-m", "playground.cli", *args]


def read_until(child: subprocess.Popen, marker: str, extra_wait: float = 0.3) -> list[str]:
    """The lines `child` prints up to one matching the regex `marker` (then `extra_wait` seconds
    more, so it is mid-write). Raises RuntimeError, killing it, if it ends before."""
    seen: list[str] = []
    for line in child.stdout:
        seen.append(line.rstrip("\n"))
        if re.search(marker, line):
            time.sleep(extra_wait)
            return seen
    child.kill()
    raise RuntimeError(f"the child ended before printing {marker!r}: {seen[-3:]}")


def snapshot(identifier: str) -> int | None:
    """The table's current snapshot id (None: no table, or no snapshot yet); creates the
    lesson's namespace if needed."""
    cat = lakehouse.catalog()
    cat.create_namespace_if_not_exists(NAMESPACE)
    if not cat.table_exists(identifier):
        return None
    current = cat.load_table(identifier).current_snapshot()
    return current.snapshot_id if current else None


def race_rows(writer: str, n: int) -> pa.Table:
    """`n` rows of `writer`: what one writer of the race puts in `lesson06.race`."""
    return pa.table({"id": pa.array(range(n), pa.int32()),
                     "writer": pa.array([writer] * n, pa.string())})  # fmt: skip


def fresh_race_table() -> None:
    """`lesson06.race` made anew, holding a first load of 3 rows; commit retries off, so a
    commit refused by the catalog fails instead of being retried."""
    cat = lakehouse.catalog()
    cat.create_namespace_if_not_exists(NAMESPACE)
    if cat.table_exists(RACE):
        cat.drop_table(RACE)
    table = cat.create_table(RACE, schema=race_rows("-", 0).schema,
                             properties={"commit.retry.num-retries": "0"})  # fmt: skip
    table.append(race_rows("first load", 3))


def in_threads(work: Callable[[str, int], str], jobs: dict[str, int]) -> dict[str, str]:
    """`work(name, value)` for every job, each in a thread of its own, all at once; what each
    returned (or the error it raised, in one line)."""
    said: dict[str, str] = {}

    def one(name: str) -> None:
        try:
            said[name] = work(name, jobs[name])
        except Exception as exc:  # noqa: BLE001 - said, not lost in a thread
            said[name] = f"writer {name}: failed: {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=one, args=(name,)) for name in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return {name: said.get(name, f"writer {name}: still running") for name in jobs}


def _month_sums(rows: pa.Table) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    for when, amount in zip(rows.column("payment_date").to_pylist(),
                            rows.column("amount").to_pylist(), strict=True):  # fmt: skip
        sums[f"{when:%Y-%m}"] = sums.get(f"{when:%Y-%m}", Decimal(0)) + amount
    return sums


def postgres_month_sums() -> dict[str, Decimal]:
    """PostgreSQL's payment total per UTC month: the oracle of the bad-month steps."""
    with postgres.connect(get_settings().pagila_db) as conn:
        return dict(conn.execute(
            "select to_char(payment_date at time zone 'UTC', 'YYYY-MM'), sum(amount) "
            "from payment group by 1"
        ).fetchall())  # fmt: skip


def snapshot_sums(snapshot_id: int) -> dict[str, Decimal]:
    """The payment total per month of one snapshot of `lesson06.payment`, read by PyIceberg."""
    return _month_sums(lakehouse.read(PAYMENT, snapshot_id=int(snapshot_id)))


def load_in_cents(month: str) -> int:
    """A child: the buggy load, replacing `month` of the payments with amounts in cents."""
    may = lakehouse.read(PAYMENT, where=lakehouse.window_filter("payment_date", *_bounds(month)))
    cents = may.set_column(may.schema.get_field_index("amount"), "amount",
                           pa.array([a * 100 for a in may.column("amount").to_pylist()],
                                    may.schema.field("amount").type))  # fmt: skip
    lakehouse.write_window(PAYMENT, cents, "payment_date", *_bounds(month), lakehouse.catalog())
    print(f"loaded {cents.num_rows} payments of {month}", flush=True)
    return 0


def bad_month() -> dict:
    """Load pagila's payments, then (a child process) May again with amounts in cents."""
    extract.extract(PAYMENT, table="payment", source=postgres.url(get_settings().pagila_db),
                    partition_by="payment_date:month", progress=lambda _line: None)  # fmt: skip
    good = lakehouse.catalog().load_table(PAYMENT).current_snapshot().snapshot_id
    child = subprocess.run([sys.executable, "-m", __name__, "cents", BAD_MONTH],
                           capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    bad = lakehouse.catalog().load_table(PAYMENT).current_snapshot().snapshot_id
    oracle = postgres_month_sums()
    differ = {m: (s, oracle.get(m)) for m, s in snapshot_sums(bad).items() if s != oracle.get(m)}
    return {"good snapshot": good, "bad snapshot": bad, "bad load said": child.stdout.strip(),
            "months that differ": differ}  # fmt: skip


def _bounds(month: str) -> tuple[datetime, datetime]:
    first, after = month_bounds(month)
    return (datetime(first.year, first.month, 1, tzinfo=UTC),
            datetime(after.year, after.month, 1, tzinfo=UTC))  # fmt: skip


def hold(path: Path) -> None:
    """A child: open the DuckDB file for writing, say so, and keep it until killed."""
    import duckdb  # noqa: PLC0415 - only the child opens it

    con = duckdb.connect(str(path))
    con.execute("create table if not exists marts (x int)")
    print("holding", flush=True)
    time.sleep(600)


def held_warehouse() -> dict:
    """A process holds a warehouse file; the check dbt's asset runs first fails, naming it."""
    path = folder() / "warehouse.duckdb"
    child = subprocess.Popen([sys.executable, "-m", __name__, "hold", str(path)],
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        child.stdout.readline()  # "holding"
        try:
            warehouse.check_writable(path)
            refused = ""
        except warehouse.WarehouseLocked as exc:
            refused = str(exc)
    finally:
        child.kill()
        child.wait()
    warehouse.check_writable(path)  # the holder is gone: a writer may open it
    return {"holder pid": child.pid, "dbt would be told": refused, "after the holder stopped": "ok"}


def stale_pid() -> dict:
    """A throwaway server, stopped; its postmaster.pid rewritten to name a live process that is
    not PostgreSQL (this lesson's own); what `playground doctor` says of it, then
    `playground services start`, each in a child."""
    data = folder() / "stale"
    env = {**os.environ, "PLAYGROUND_DATA_DIR": str(data)}
    run = {"env": env, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run(cli("services", "start"), check=True, **run)
    subprocess.run(cli("services", "stop"), check=True, **run)
    pid_file = data / "pgdata" / "postmaster.pid"
    pid_file.write_text(f"{os.getpid()}\n{data / 'pgdata'}\n0\n5432\n\n127.0.0.1\n0 0\nready\n")
    doctor = subprocess.run(cli("doctor"), **run).stdout.splitlines()
    at = next((i for i, line in enumerate(doctor) if line.split()[1:2] == ["postgres"]), None)
    started = subprocess.run(cli("services", "start"), **run)
    stopped = subprocess.run(cli("services", "stop"), **run)
    return {"doctor said": "\n".join(doctor[at : at + 2]) if at is not None else "",
            "start said": started.stdout.strip(),
            "start exit code": started.returncode, "stop said": stopped.stdout.strip()}  # fmt: skip


# --- exercises ----------------------------------------------------------------------------------


def check_good_snapshot(answer: str, **_context) -> str | None:
    """The snapshot must hold, for every month, the total PostgreSQL holds."""
    table = lakehouse.catalog().load_table(PAYMENT)
    ids = {s.snapshot_id for s in table.snapshots()}
    if not str(answer).strip().isdecimal():  # what int() reads (not "²", which isdigit() accepts)
        return f"a snapshot id is a whole number, such as {min(ids)}; {answer!r} is not one"
    if int(answer) not in ids:
        return f"{answer} is not a snapshot of {PAYMENT}: list them with table.snapshots()"
    wanted, got = postgres_month_sums(), snapshot_sums(int(answer))
    if got == wanted:
        return None
    wrong = sorted(m for m in wanted if got.get(m) != wanted[m])
    month = wrong[0]
    return (f"in that snapshot {month} totals {got.get(month)}, PostgreSQL {wanted[month]}: "
            "pick the snapshot before the bad load")  # fmt: skip


def check_winner(answer: str, **_context) -> str | None:
    """The writer whose rows the race table holds (read from the table itself)."""
    writers = set(lakehouse.read(RACE).column("writer").to_pylist())
    if writers == {answer}:
        return None
    return f"the table holds rows of {sorted(writers)}, not of {answer!r}: read it"


def _winner(**_context) -> str:
    """The race's winner, for a run by hand (`LESSON_ANSWERS=worked`); the suite feeds the one
    the writers' exit codes name."""
    (won,) = set(lakehouse.read(RACE).column("writer").to_pylist())
    return won


# The worked answers depend on the run (a snapshot id, the race's winner): the suite feeds
# them from what it saw (tests/lessons/test_lessons.py).
GOOD_SNAPSHOT = Exercise(
    "06.1", "Which snapshot should the table go back to?", check_good_snapshot, None, None,
    "The snapshot the first load committed: `table.snapshots()` lists them oldest first, and "
    "`lakehouse.read(..., snapshot_id=...)` reads one; its month totals equal PostgreSQL's. "
    "Rolling back makes it current again without rewriting a file.",
)  # fmt: skip
WINNER = Exercise(
    "06.2", "Which writer won the race?", check_winner, None, None,
    "The one whose commit the catalog accepted first: its rows are the table's. The other one's "
    "commit was refused whole: none of its rows are there, and it said so.", solve=_winner,
)  # fmt: skip
EXERCISES = (GOOD_SNAPSHOT, WINNER)


if __name__ == "__main__":  # the child processes of the steps above
    if sys.argv[1] == "hold":
        hold(Path(sys.argv[2]))
    if sys.argv[1] == "cents":
        sys.exit(load_in_cents(sys.argv[2]))
