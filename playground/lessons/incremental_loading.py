"""Lesson 05's plumbing: its own database, the day of changes, measuring and comparing each way of
loading (the loading itself is in the notebook's cells), and its exercises.

The lesson works on a database of its own (`pagila_lesson05`, seeded at SF 1 each time it
starts) so the pagila pipeline's data stays as it is. Each strategy keeps its copy of three
tables (`rental`, `payment`, `customer`) in a namespace of its own; `lesson05_yesterday` keeps the
first load untouched, for the exercises. The exercises are checked against the write-ahead log:
the changes PostgreSQL itself recorded through the replication slot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from playground.datasets.pagila import changes, seed
from playground.extract import cdc, incremental
from playground.extract.reconcile import Source, differences
from playground.lakehouse import register_duckdb_view
from playground.lessons.exercises import AnswerFailed, Exercise, run_answer
from playground.services import postgres

DATABASE = "pagila_lesson05"
SLOT = "playground_lesson05"
YESTERDAY = "lesson05_yesterday"


@dataclass(frozen=True)
class Spec:
    key: str  # the primary key's id column
    watermark: str  # the column a watermark follows
    partition: str | None  # the month column of the Iceberg table


TABLES = {
    "rental": Spec("rental_id", "last_update", "rental_date"),
    "payment": Spec("payment_id", "payment_date", "payment_date"),
    "customer": Spec("customer_id", "last_update", None),
}
_FIRST_LOAD: dict[str, int] = {}  # identifier → the snapshot `prepare` loaded
STRATEGIES = {  # name → its namespace
    "full reload": "lesson05_full",
    "watermark append": "lesson05_append",
    "watermark upsert": "lesson05_upsert",
    "changed months": "lesson05_months",
    "change data capture": "lesson05_cdc",
}


def prepare(progress=print) -> Source:
    """Seed the lesson's database, load every namespace, and start recording changes."""
    postgres.start(progress=progress)
    seed.seed(database=DATABASE, force=True, progress=lambda _line: None)
    with postgres.connect(DATABASE) as conn:  # the slot first: a change committed during the
        cdc.start(conn, SLOT, TABLES)  # loads below is in the slot (the new seed dropped the old)
    source = Source(DATABASE)
    for namespace in (YESTERDAY, *STRATEGIES.values()):
        for table, spec in TABLES.items():
            identifier = f"{namespace}.{table}"
            incremental.full_reload(source, table, identifier, spec.partition)
            current = source.cat.load_table(identifier).current_snapshot()
            _FIRST_LOAD[identifier] = current.snapshot_id
        progress(f"loaded {', '.join(TABLES)} into {namespace}")
    for table in TABLES:  # the exercises' `yesterday_<table>` views: the first load, unchanged
        register_duckdb_view(
            source.con, f"{YESTERDAY}.{table}", f"yesterday_{table}", cat=source.cat
        )
    return source


def apply_day(day_seed: int = 0) -> tuple[changes.Day, list[cdc.Change]]:
    """One day of changes, and what the write-ahead log recorded of them (peeked, not consumed)."""
    with postgres.connect(DATABASE) as conn:
        day = changes.apply_day(conn, seed=day_seed)
        return day, cdc.peek(conn, SLOT).changes


def measure(source: Source, strategy: str, load: Callable[[str, Spec, str], int]) -> list[dict]:
    """Run `load(table, spec, identifier)` (it returns the rows it read) on each table of the
    strategy's namespace: rows read, seconds, snapshots added, data files, and the row-by-row
    comparison with PostgreSQL. Each table starts from the first load, so a cell run again (after
    an edit) loads the day again rather than finding it loaded."""
    found = []
    for table, spec in TABLES.items():
        identifier = f"{STRATEGIES[strategy]}.{table}"
        _back_to_first_load(source, identifier)
        before = len(source.cat.load_table(identifier).snapshots())
        started = time.perf_counter()
        read = load(table, spec, identifier)
        seconds = time.perf_counter() - started
        iceberg = source.cat.load_table(identifier)
        apart = differences(source, table, identifier)
        found.append({
            "strategy": strategy, "table": table, "rows read": read,
            "seconds": round(seconds, 3), "snapshots added": len(iceberg.snapshots()) - before,
            "data files": sum(1 for _ in iceberg.scan().plan_files()),
            "equals PostgreSQL": apart.equal, "differences": str(apart),
        })  # fmt: skip
    return found


def _back_to_first_load(source: Source, identifier: str) -> None:
    iceberg = source.cat.load_table(identifier)
    first = _FIRST_LOAD.get(identifier)
    if first is None:
        raise cdc.CdcError(
            "the lesson's tables were not loaded: run the lesson from its first cell"
        )
    if iceberg.current_snapshot().snapshot_id != first:
        iceberg.manage_snapshots().set_current_snapshot(first).commit()


def finish() -> None:
    """Drop the replication slot: a slot nobody reads keeps write-ahead log forever."""
    with postgres.connect(DATABASE) as conn:
        cdc.drop(conn, SLOT)


# --- exercises: checked against the changes the write-ahead log recorded -----------------------


def _keys(recorded: list[cdc.Change], table: str, ops: tuple[str, ...]) -> set[int]:
    key = TABLES[table].key
    return {int(c.row[key]) for c in recorded if c.table == table and c.op in ops}


def _ids(query: str, con) -> set[int]:
    """The ids the learner's query returns (their mistakes raise `AnswerFailed`)."""
    rows = run_answer(lambda: con.sql(query).fetchall())
    if rows and len(rows[0]) != 1:
        raise AnswerFailed(f"one column of ids expected; the query returns {len(rows[0])}")
    try:
        return {int(r[0]) for r in rows}
    except (TypeError, ValueError) as exc:
        raise AnswerFailed(f"the ids must be whole numbers: {exc}") from exc


def check_changed_customers(query: str, con, recorded) -> str | None:
    """The query must return the ids of the customers changed since yesterday's load."""
    got, wanted = _ids(query, con), _keys(recorded, "customer", ("insert", "update"))
    if got == wanted:
        return None
    if len(got) > len(wanted) * 10:
        return (
            f"{len(got):,} customers, but only {len(wanted)} changed: compare `last_update` with "
            "the newest `last_update` of `yesterday_customer`"
        )
    return f"{len(got)} ids, {len(got & wanted)} of them right; {len(wanted)} customers changed"


def _months_of(recorded, ops) -> set[str]:
    return {c.row["payment_date"][:7] for c in recorded if c.table == "payment" and c.op in ops}


def check_months(months: list[str], recorded, **_context) -> str | None:
    """The months of `payment` a partition replace must read again: every month a change hit."""
    wanted = _months_of(recorded, ("insert", "update", "delete"))
    got = set(months)
    if got == wanted:
        return None
    if missing := wanted - got:
        deleted = _months_of(recorded, ("delete",))
        why = " (refunds deleted payments there)" if missing & deleted else ""
        return f"a replace of {sorted(got)} would miss the changes of {sorted(missing)}{why}"
    return f"{sorted(got - wanted)} did not change: replacing it reads rows for nothing"


def check_refunds(query: str, con, recorded) -> str | None:
    """The query must find the payments yesterday's load has and PostgreSQL no longer has."""
    got, wanted = _ids(query, con), _keys(recorded, "payment", ("delete",))
    if got == wanted:
        return None
    if not got:
        return "no ids: look for payment ids in `yesterday_payment` that `pg.public.payment` lacks"
    if got & wanted and got - wanted:
        return (
            f"{len(got - wanted)} of your ids are still in PostgreSQL: keep only those missing "
            "from pg.public.payment"
        )
    return f"{len(got)} ids, {len(got & wanted)} of them refunded; {len(wanted)} were refunded"


CHANGED = """select customer_id from pg.public.customer
where last_update > (select max(last_update) from yesterday_customer)"""
REFUNDS = """select payment_id from yesterday_payment
except
select payment_id from pg.public.payment"""
# Wrong answers of the right shape (one column of ids, as many as the day changed: 3 customers
# and 5 refunds on the lesson's day): the newest rows of yesterday's load, taken for the changes.
NEWEST_CUSTOMERS = """select customer_id from yesterday_customer
order by last_update desc, customer_id limit 3"""
NEWEST_PAYMENTS = """select payment_id from yesterday_payment
order by payment_date desc, payment_id limit 5"""

CHANGED_CUSTOMERS = Exercise(
    "05.1", "Which customers changed since yesterday?", check_changed_customers, CHANGED,
    NEWEST_CUSTOMERS,
    "A watermark: yesterday's newest `last_update`, and every row past it. It finds updates and "
    "inserts because the application sets `last_update`; a row deleted leaves nothing to find.",
)  # fmt: skip
MONTHS = Exercise(
    "05.2", "Which months of payment must be replaced?", check_months, None, None,
    "Every month a change touched: the new payments' month, and the months of the refunded "
    "(deleted) payments, which may be older. Replacing only the newest month misses refunds.",
)  # fmt: skip
REFUNDED = Exercise(
    "05.3", "Find the refunds a watermark cannot see", check_refunds, REFUNDS,
    NEWEST_PAYMENTS,
    "An anti-join of yesterday's keys with today's: it finds deletes, but reads every key on "
    "both sides. Change data capture hands the same ids over without reading the table.",
)  # fmt: skip
EXERCISES = (CHANGED_CUSTOMERS, MONTHS, REFUNDED)
