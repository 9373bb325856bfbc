"""Lesson 06: the lakehouse's promises, shown by breaking them on purpose, and its exercises.

Each step runs a real failure in a child process and reports what happened, then recovers:
- `kill_extract`: an extract killed with SIGKILL while it writes; the catalog is unchanged and
  `playground clean` finds (and removes) the files it staged;
- `two_writers`: two processes replace the same table at the same instant; one commit wins,
  the other fails saying so (commit retries are off for the table, so the race is visible);
- `bad_month` / `rollback`: a month loaded with amounts in cents, found by comparing with
  PostgreSQL, and the table rolled back to the snapshot before it;
- `held_warehouse`: a process holds a DuckDB file open, so a writer (dbt) cannot have it;
- `stale_pid`: a `postmaster.pid` left naming a live process that is not PostgreSQL.

Everything happens in the namespace `lesson06` and in `<data dir>/lesson06/`; the learner's
own PostgreSQL server, tables and warehouse are never touched. Run as a module, this file is
the child processes' entry point (`python -m playground.lessons.when_things_break write ...`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from pyiceberg.exceptions import CommitFailedException

from playground import extract, lakehouse
from playground.config.months import month_bounds
from playground.config.settings import get_settings
from playground.lakehouse import clean, warehouse
from playground.lessons.exercises import Exercise
from playground.services import postgres
from playground.services.processes import kill_at_line

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


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "playground.cli", *args]


def kill_extract() -> dict:
    """Kill -9 an extract mid-write; what the catalog and `playground clean` say afterwards."""
    cat = lakehouse.catalog()
    cat.create_namespace_if_not_exists(NAMESPACE)
    before = _snapshot(cat, BIG)
    # no --source: the configured database (a URL on a command line shows its password to `ps`)
    seen = kill_at_line(_cli("extract", "--query", QUERY, "--to", BIG), PROGRESS)
    found = clean.find()
    removed = clean.clean(progress=lambda _line: None)
    return {"printed": seen, "snapshot before": before, "snapshot after": _snapshot(cat, BIG),
            "staged files": len(found.files), "staged MB": round(found.bytes / 2**20, 1),
            "removed": len(removed.files), "left": len(clean.find().files)}  # fmt: skip


def _snapshot(cat, identifier: str) -> int | None:
    """The table's current snapshot id (None: no table, or no snapshot yet)."""
    if not cat.table_exists(identifier):
        return None
    current = cat.load_table(identifier).current_snapshot()
    return current.snapshot_id if current else None


def _race_rows(writer: str, n: int) -> pa.Table:
    return pa.table({"id": pa.array(range(n), pa.int32()),
                     "writer": pa.array([writer] * n, pa.string())})  # fmt: skip


def write_at_signal(identifier: str, writer: str, rows: int, ready: Path, go: Path) -> int:
    """A child: load the table, say it is ready, wait for the signal, replace the rows."""
    table = lakehouse.catalog().load_table(identifier)
    ready.touch()
    while not go.exists():
        time.sleep(0.01)
    try:
        table.overwrite(_race_rows(writer, rows))
    except CommitFailedException as exc:
        print(f"writer {writer}: lost, nothing committed: {exc}", flush=True)
        return 1
    print(f"writer {writer}: committed {rows} rows", flush=True)
    return 0


def two_writers() -> dict:
    """Two processes replace `lesson06.race` at once: who won, what the other one saw."""
    cat = lakehouse.catalog()
    cat.create_namespace_if_not_exists(NAMESPACE)
    if cat.table_exists(RACE):
        cat.drop_table(RACE)
    table = cat.create_table(RACE, schema=_race_rows("-", 0).schema,
                             properties={"commit.retry.num-retries": "0"})  # fmt: skip
    table.append(_race_rows("first load", 3))
    work = folder() / "race"
    work.mkdir(exist_ok=True)
    for stale in work.iterdir():
        stale.unlink()
    children = {
        writer: subprocess.Popen(
            [sys.executable, "-m", __name__, "write", RACE, writer, str(rows), str(work)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for writer, rows in (("A", 5), ("B", 7))
    }  # fmt: skip
    deadline = time.monotonic() + 60
    while not all((work / f"{w}.ready").exists() for w in children):
        if time.monotonic() > deadline or any(c.poll() is not None for c in children.values()):
            break
        time.sleep(0.01)
    (work / "go").touch()  # both loaded the same snapshot: now both commit
    said = {w: c.communicate(timeout=60)[0].strip() for w, c in children.items()}
    codes = {w: c.returncode for w, c in children.items()}
    rows = lakehouse.read(RACE).column("writer").to_pylist()
    return {"said": said, "exit codes": codes, "rows": len(rows), "writers": sorted(set(rows))}


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


def rollback(snapshot_id: int) -> int:
    """Make `snapshot_id` the table's current snapshot again (a new metadata file, no data
    rewritten); the current snapshot id afterwards."""
    table = lakehouse.catalog().load_table(PAYMENT)
    table.manage_snapshots().rollback_to_snapshot(int(snapshot_id)).commit()
    return lakehouse.catalog().load_table(PAYMENT).current_snapshot().snapshot_id


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
    subprocess.run(_cli("services", "start"), check=True, **run)
    subprocess.run(_cli("services", "stop"), check=True, **run)
    pid_file = data / "pgdata" / "postmaster.pid"
    pid_file.write_text(f"{os.getpid()}\n{data / 'pgdata'}\n0\n5432\n\n127.0.0.1\n0 0\nready\n")
    doctor = subprocess.run(_cli("doctor"), **run).stdout.splitlines()
    at = next((i for i, line in enumerate(doctor) if line.split()[1:2] == ["postgres"]), None)
    started = subprocess.run(_cli("services", "start"), **run)
    stopped = subprocess.run(_cli("services", "stop"), **run)
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
    if sys.argv[1] == "write":
        identifier, writer, rows, work = sys.argv[2:6]
        sys.exit(write_at_signal(identifier, writer, int(rows), Path(work) / f"{writer}.ready",
                                 Path(work) / "go"))  # fmt: skip
    if sys.argv[1] == "hold":
        hold(Path(sys.argv[2]))
    if sys.argv[1] == "cents":
        sys.exit(load_in_cents(sys.argv[2]))
