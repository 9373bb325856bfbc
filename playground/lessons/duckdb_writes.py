"""Lesson 02's last part: DuckDB writes the lakehouse through the stack's Iceberg REST catalog,
PyIceberg and Trino read every step, and two engines' commits collide.

Embedded mode's catalog is SQLite, which DuckDB cannot attach; the stack's REST catalog is the
one every engine speaks. The lesson uses the stack whenever its catalog answers, whatever
PLAYGROUND_MODE says (`stack_catalog`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

import pyarrow as pa

from playground import lakehouse
from playground.config.settings import ServiceUnavailable, Settings, get_settings
from playground.engines import duck, trino
from playground.lakehouse import objectstore
from playground.stack import rest_catalog

NAMESPACE = "lesson02_rest"
TABLE = f"{NAMESPACE}.wallet"
IN_DUCKDB = f"lake.{TABLE}"
IN_TRINO = trino.qualified("iceberg", NAMESPACE, "wallet")

# (engine, what it does, the statement); DuckDB's run on the attached catalog `lake`. The SQL is
# built from the constants above only (S608).
STEPS = (
    ("duckdb", "create the table",
     f"create table {IN_DUCKDB} (id bigint, owner varchar, balance decimal(10, 2))"),
    ("duckdb", "insert three rows",
     f"insert into {IN_DUCKDB} values (1, 'ana', 10.00), (2, 'ben', 20.00), (3, 'cai', 30.00)"),  # noqa: S608
    ("duckdb", "update one row", f"update {IN_DUCKDB} set balance = balance + 5 where id = 2"),  # noqa: S608
    ("duckdb", "delete one row", f"delete from {IN_DUCKDB} where id = 3"),  # noqa: S608
    ("duckdb", "merge: update ana, insert dee",
     f"merge into {IN_DUCKDB} w using (values (1, 'ana', 1.00), (4, 'dee', 40.00)) "
     "s(id, owner, balance) on w.id = s.id "
     "when matched then update set balance = w.balance + s.balance "
     "when not matched then insert values (s.id, s.owner, s.balance)"),
    ("trino", "double ana's balance", f"update {IN_TRINO} set balance = balance * 2 where id = 1"),  # noqa: S608
    ("pyiceberg", "append eve", "table.append(pa.table({'id': [5], ...}))"),
)  # fmt: skip


def stack_catalog(settings: Settings | None = None) -> tuple[Settings | None, str]:
    """The stack's settings when its REST catalog answers, else None and the reason."""
    stack = replace(settings or get_settings(), mode="stack")
    try:
        rest_catalog.config(stack.catalog_uri, timeout=2, token=stack.catalog_token)
    except OSError as exc:
        return (
            None,
            f"the stack's Iceberg REST catalog at {stack.catalog_uri} does not answer ({exc})",
        )
    try:  # a catalog that answers may be another install's (another user's stack on this port)
        if not objectstore.bucket_exists(stack):
            raise OSError(f"no bucket {stack.s3_bucket!r}")
    except OSError as exc:
        return None, (
            f"a REST catalog answers at {stack.catalog_uri}, but the object store at "
            f"{stack.s3_endpoint} refuses this install's keys ({str(exc).splitlines()[0]}): it "
            "is not this install's stack"
        )
    return stack, ""


@dataclass
class Step:
    engine: str
    action: str
    statement: str
    pyiceberg: list[tuple] | None  # the rows PyIceberg reads after the step (id, owner, balance)
    trino: list[tuple] | None  # Trino's, or None when Trino is not running
    snapshots: tuple[int, ...] = ()  # the snapshots the step committed (a MERGE may make two)


def _rows(stack: Settings, cat) -> tuple[list[tuple], list[tuple] | None]:
    data = cat.load_table(TABLE).scan().to_arrow().sort_by("id")
    by_pyiceberg = [tuple(r.values()) for r in data.to_pylist()]
    try:
        by_trino = trino.execute(f"select id, owner, balance from {IN_TRINO} order by id",  # noqa: S608
                                 settings=stack)[1]  # fmt: skip
    except ServiceUnavailable:
        by_trino = None
    return by_pyiceberg, by_trino


def fresh_table(stack: Settings) -> None:
    cat = lakehouse.catalog(stack)
    cat.create_namespace_if_not_exists(NAMESPACE)
    if cat.table_exists(TABLE):
        cat.purge_table(TABLE)


def walk(stack: Settings, progress=print) -> list[Step]:
    """Run STEPS on a new table; after each, what PyIceberg and Trino read."""
    fresh_table(stack)
    cat = lakehouse.catalog(stack)
    done: list[Step] = []
    seen: set[int] = set()
    with duck.connect(settings=stack) as con:
        duck.attach_lakehouse(con, stack)
        for engine, action, statement in STEPS:
            if engine == "duckdb":
                con.execute(statement)
            elif engine == "trino":
                try:
                    trino.execute(statement, settings=stack)
                except ServiceUnavailable:
                    progress("Trino is not running: its step is left out")
                    continue
            else:
                row = {"id": [5], "owner": ["eve"], "balance": [Decimal("50.00")]}
                schema = pa.schema([("id", pa.int64()), ("owner", pa.string()),
                                    ("balance", pa.decimal128(10, 2))])  # fmt: skip
                cat.load_table(TABLE).append(pa.table(row, schema=schema))
            by_pyiceberg, by_trino = _rows(stack, cat)
            made = [s.snapshot_id for s in cat.load_table(TABLE).snapshots()
                    if s.snapshot_id not in seen]  # fmt: skip
            seen.update(made)
            done.append(Step(engine, action, statement, by_pyiceberg, by_trino, tuple(made)))
            progress(f"rest: {engine} {action}: pyiceberg reads {by_pyiceberg}")
    return done


def snapshots(stack: Settings, steps: list[Step]) -> list[dict]:
    """Each snapshot of the table beside the engine whose step made it, with the data and
    delete files it added (from its summary)."""
    table = lakehouse.catalog(stack).load_table(TABLE)
    maker = {snapshot: step for step in steps for snapshot in step.snapshots}
    found = []
    for snapshot in table.snapshots():
        step = maker[snapshot.snapshot_id]
        summary = snapshot.summary.additional_properties if snapshot.summary else {}
        found.append({
            "snapshot": snapshot.snapshot_id,
            "engine": step.engine,
            "step": step.action,
            "operation": snapshot.summary.operation.value if snapshot.summary else "",
            "added data files": int(summary.get("added-data-files", 0)),
            "added delete files": int(summary.get("added-delete-files", 0)),
            "total records": int(summary.get("total-records", 0)),
        })  # fmt: skip
    return found


@dataclass
class Collision:
    refused: str  # DuckDB's error, as it says it
    after_conflict: list[int]  # the ids after DuckDB's refused commit
    after_retry: list[int]  # and after DuckDB ran its transaction again


def collide(stack: Settings) -> Collision:
    """DuckDB opens a transaction and inserts; PyIceberg commits an append meanwhile; DuckDB's
    commit is refused (its snapshot's parent is no longer the branch head), then retried."""
    cat = lakehouse.catalog(stack)
    schema = cat.load_table(TABLE).schema().as_arrow()
    row = pa.table({"id": [7], "owner": ["gus"], "balance": [Decimal("7.00")]}, schema=schema)
    insert = f"insert into {IN_DUCKDB} values (6, 'fay', 6.00)"  # noqa: S608 - constants
    with duck.connect(settings=stack) as con:
        duck.attach_lakehouse(con, stack)
        con.execute("begin")
        con.execute(insert)
        cat.load_table(TABLE).append(row)  # PyIceberg commits first
        try:
            con.execute("commit")
            refused = ""
        except Exception as exc:  # noqa: BLE001 - DuckDB's TransactionException, shown as is
            refused = str(exc)
        after_conflict = _ids(cat)
        con.execute(insert)  # the retry: a new transaction on the new head
    return Collision(refused, after_conflict, _ids(cat))


def _ids(cat) -> list[int]:
    return sorted(cat.load_table(TABLE).scan().to_arrow().column("id").to_pylist())
