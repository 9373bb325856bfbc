"""Lesson 03's exercises on a small table with a known history, written through Trino and
checked against PyIceberg's own reading of every snapshot (never Trino's answer to itself)."""

from __future__ import annotations

import logging

import sqlglot
from sqlglot import exp

from playground import lakehouse
from playground.engines import trino
from playground.lessons.exercises import AnswerFailed, Exercise, run_answer

# Not "history": through a REST catalog, Iceberg's client reads a missing table named like a
# metadata table (history, snapshots, files, ...) as that metadata table of a table named like
# the schema, and Trino's `drop table if exists` then fails instead of doing nothing.
SCHEMA, NAME = "lesson_trino", "ledger"
IDENTIFIER = f"{SCHEMA}.{NAME}"
TABLE = trino.qualified("iceberg", SCHEMA, NAME)
SNAPSHOTS = trino.qualified("iceberg", SCHEMA, f"{NAME}$snapshots")

# Each step one commit: (what it does, the statement)
STEPS = (
    ("create 50 payments", f"create table {TABLE} as select x as payment_id, x % 5 as customer_id, "
     "cast(x % 7 + 0.99 as decimal(5, 2)) as amount from unnest(sequence(1, 50)) as t(x)"),
    ("delete customer 0's payments", f"delete from {TABLE} where customer_id = 0"),
    ("raise five amounts", f"update {TABLE} set amount = amount + 1 where payment_id <= 5"),
    ("delete payments above 47", f"delete from {TABLE} where payment_id > 47"),
    ("merge a correction and a new payment", f"merge into {TABLE} t using (values (1, 9.99), "
     "(999, 1.99)) s(id, amount) on t.payment_id = s.id when matched then update set amount = "
     "s.amount when not matched then insert (payment_id, customer_id, amount) "
     "values (s.id, 1, s.amount)"),
)  # fmt: skip


def build(sql) -> list[str]:
    """The exercise table (and its schema), made again with one commit per step; the steps'
    names."""
    sql(f"create schema if not exists {trino.qualified('iceberg', SCHEMA)}")
    sql(f"drop table if exists {TABLE}")
    for _name, statement in STEPS:
        sql(statement)
    return [name for name, _ in STEPS]


def _states(settings=None) -> list[dict]:
    """Every snapshot in commit order with its parent, rows and amount, read by PyIceberg."""
    table = lakehouse.catalog(settings).load_table(IDENTIFIER)
    found = []
    for snapshot in sorted(table.snapshots(), key=lambda s: s.sequence_number):
        rows = table.scan(snapshot_id=snapshot.snapshot_id).to_arrow()
        found.append({
            "id": snapshot.snapshot_id, "parent": snapshot.parent_snapshot_id,
            "rows": rows.num_rows, "amount": sum(rows.column("amount").to_pylist()),
        })  # fmt: skip
    return found


# Statements a read-only answer cannot hold, wherever they appear in it.
_WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Drop, exp.Create, exp.Alter,
           exp.Command, exp.TruncateTable)  # fmt: skip


def refused(query: str) -> str | None:
    """Why `query` may not run as an answer, or None: an answer is one SELECT (or WITH ...
    SELECT), parsed by sqlglot as Trino SQL, reading no table function. The answer boxes run
    on the catalog the pipeline writes to, so nothing else reaches Trino."""
    quiet = logging.getLogger("sqlglot")
    level, quiet.level = quiet.level, logging.ERROR  # its "falling back to Command" warning
    try:
        statements = [s for s in sqlglot.parse(query, read="trino") if s is not None]
    except sqlglot.errors.SqlglotError as exc:  # ParseError, TokenError (an open quote) ...
        return f"it does not parse as Trino SQL: {str(exc).splitlines()[0]}"
    finally:
        quiet.level = level
    if len(statements) != 1:
        return f"one statement expected, your answer holds {len(statements)}"
    (tree,) = statements
    if not isinstance(tree, exp.Select | exp.SetOperation) or any(
        isinstance(node, _WRITES) for node in tree.walk()
    ):
        return "only a SELECT (or WITH ... SELECT) runs here: the answer box reads, never writes"
    if any(not isinstance(t.this, exp.Identifier) for t in tree.find_all(exp.Table)):
        return "table functions are not run here: read the tables and their $snapshots"
    return None


def _snapshot_of(query: str, sql) -> int:
    if why := refused(query):
        raise AnswerFailed(f"not run: {why}")
    names, rows = run_answer(sql, query)
    if not rows or rows[0][0] is None:
        raise AnswerFailed("the query returned no snapshot id")
    try:
        return int(rows[0][0])
    except (TypeError, ValueError) as exc:
        raise AnswerFailed(f"a snapshot id is a whole number, not {rows[0][0]!r}") from exc


def check_most_removed(query: str, sql, settings=None) -> str | None:
    """The query must return the id of the snapshot that removed the most rows."""
    answer = _snapshot_of(query, sql)
    states = {s["id"]: s for s in _states(settings)}
    if answer not in states:
        return f"{answer} is not a snapshot of {IDENTIFIER}: list them from {SNAPSHOTS}"
    removed = {
        s["id"]: states[s["parent"]]["rows"] - s["rows"] for s in states.values() if s["parent"]
    }
    best = max(removed, key=removed.get)
    if answer != best:
        said = removed.get(answer)
        change = "it has no parent" if said is None else f"it removed {said} row(s) net"
        return (
            f"snapshot {answer}: {change}; another removed {removed[best]}. Compare each "
            "snapshot's row count with its parent's (a row-level delete writes position deletes)"
        )
    return None


def check_before_merge(query: str, sql, settings=None) -> str | None:
    """The query must return the id of the snapshot that reads as the table before the MERGE."""
    answer = _snapshot_of(query, sql)
    states = _states(settings)
    merge, before = states[-1], next(s for s in states if s["id"] == states[-1]["parent"])
    _, rows = sql(f"select count(*), sum(amount) from {TABLE} for version as of {answer}")  # noqa: S608
    count, amount = rows[0][0], rows[0][1]
    if answer == merge["id"]:
        return (
            "that is the MERGE's own snapshot: reading it shows the MERGE's result. The table "
            "before the MERGE is its parent (`parent_id` in $snapshots)"
        )
    if (count, amount) != (before["rows"], before["amount"]):
        return (
            f"as of {answer} the table has {count} rows (amount {amount}); just before the "
            f"MERGE it had {before['rows']} (amount {before['amount']})"
        )
    return None


MOST_REMOVED_SQL = f"""select snapshot_id
from {SNAPSHOTS}
order by cast(coalesce(element_at(summary, 'added-position-deletes'), '0') as bigint)
       - cast(coalesce(element_at(summary, 'added-records'), '0') as bigint) desc
limit 1"""
LATEST_SQL = f"select snapshot_id from {SNAPSHOTS} order by committed_at desc limit 1"
BEFORE_MERGE_SQL = f"select parent_id from {SNAPSHOTS} order by committed_at desc limit 1"

MOST_REMOVED = Exercise(
    "03.1", "Which commit removed the most rows?", check_most_removed, MOST_REMOVED_SQL,
    LATEST_SQL,
    "A row-level DELETE on this table writes position delete files, so its snapshot's summary "
    "counts `added-position-deletes`; an UPDATE deletes and adds the same rows, so subtract "
    "`added-records`. `element_at(summary, key)` gives NULL for a key a snapshot lacks, where "
    "`summary[key]` fails. The check reads every snapshot with PyIceberg instead.",
)  # fmt: skip
BEFORE_MERGE = Exercise(
    "03.2", "Which snapshot shows the table before the MERGE?", check_before_merge,
    BEFORE_MERGE_SQL, LATEST_SQL,
    "The MERGE is the last commit; the state before it is its parent. Then "
    f"`select * from {TABLE} for version as of <that id>` reads it.",
)  # fmt: skip
EXERCISES = (MOST_REMOVED, BEFORE_MERGE)
