"""Plumbing for lesson 02's last part, where DuckDB writes the lakehouse through the stack's
Iceberg REST catalog: whether the stack answers, a fresh table, what PyIceberg, Trino and
PostgreSQL read after each step, and each snapshot beside the step that made it. The statements
themselves (the ATTACH, DuckDB's writes, the two writers) are in the lesson's cells.

PostgreSQL is the yardstick: every step's SQL runs there too, on a table of the same name in
the database `lesson02_rest`, and the Iceberg table must hold what PostgreSQL's does.

Embedded mode's catalog is SQLite, which DuckDB cannot attach; the stack's REST catalog is the
one every engine speaks. The lesson uses the stack whenever its catalog answers, whatever
PLAYGROUND_MODE says (`stack_catalog`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import psycopg

from playground import lakehouse
from playground.config.settings import ServiceUnavailable, Settings, get_settings
from playground.engines import trino
from playground.lakehouse import objectstore
from playground.lessons.exercises import one_line
from playground.services import postgres
from playground.stack import rest_catalog

NAMESPACE = "lesson02_rest"
TABLE = f"{NAMESPACE}.wallet"
IN_TRINO = trino.qualified("iceberg", NAMESPACE, "wallet")
TWIN_DATABASE = NAMESPACE  # PostgreSQL's copy of the table: database lesson02_rest, table wallet
# the table as DuckDB (`lake.`, the attached catalog) or Trino (`iceberg.`) names it
_QUALIFIED = re.compile(rf'\b(?:lake|iceberg)\."?{NAMESPACE}"?\."?wallet"?', re.IGNORECASE)


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
    pyiceberg: list[tuple]  # the rows PyIceberg reads after the step (id, owner, balance)
    trino: list[tuple] | None  # Trino's, or None when Trino is not running
    postgres: list[tuple]  # what the same SQL left in PostgreSQL's table
    snapshots: tuple[int, ...] = ()  # the snapshots the step committed (a MERGE may make two)

    @property
    def same(self) -> bool:
        """PyIceberg (and Trino, when it runs) read what PostgreSQL holds."""
        return self.pyiceberg == self.postgres and self.trino in (None, self.postgres)


def in_postgres(statement: str) -> str:
    """The statement with the table named as PostgreSQL's database `lesson02_rest` has it."""
    return _QUALIFIED.sub("wallet", statement)


def postgres_rows(settings: Settings | None = None) -> list[tuple]:
    with postgres.connect(TWIN_DATABASE, settings) as conn:
        return conn.execute("select id, owner, balance from wallet order by id").fetchall()


def ids(stack: Settings) -> list[int]:
    """The ids PyIceberg reads in the table now, in order."""
    table = lakehouse.catalog(stack).load_table(TABLE)
    return sorted(table.scan().to_arrow().column("id").to_pylist())


def _trino_rows(stack: Settings) -> list[tuple] | None:
    try:
        return trino.execute(f"select id, owner, balance from {IN_TRINO} order by id",  # noqa: S608
                             settings=stack)[1]  # fmt: skip
    except ServiceUnavailable:
        return None


@dataclass
class Log:
    """A fresh table (the one of a previous run purged, in the catalog and in PostgreSQL), then
    `step` after each write: what PyIceberg, Trino and PostgreSQL read, and the new snapshots."""

    stack: Settings
    settings: Settings | None = None  # the lesson's own (its PostgreSQL); None: get_settings()
    steps: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        cat = lakehouse.catalog(self.stack)
        cat.create_namespace_if_not_exists(NAMESPACE)
        if cat.table_exists(TABLE):
            cat.purge_table(TABLE)
        postgres.ensure_database(TWIN_DATABASE, self.settings)
        with postgres.connect(TWIN_DATABASE, self.settings) as conn:
            conn.execute("drop table if exists wallet")

    def step(
        self, engine: str, action: str, statement: str, twin: str = "", progress=print
    ) -> Step:
        """Record the write `statement` just made by `engine`, after running it in PostgreSQL
        (or `twin`, the same write in SQL, when the statement is not SQL)."""
        refused = ""
        try:
            with postgres.connect(TWIN_DATABASE, self.settings) as conn:
                conn.execute(in_postgres(twin or statement))
        except psycopg.Error as exc:  # SQL of DuckDB's own that PostgreSQL does not speak
            refused = f" (PostgreSQL could not run it: {one_line(exc)})"
        seen = {snapshot for step in self.steps for snapshot in step.snapshots}
        table = lakehouse.catalog(self.stack).load_table(TABLE)
        data = table.scan().to_arrow().sort_by("id")
        made = tuple(s.snapshot_id for s in table.snapshots() if s.snapshot_id not in seen)
        done = Step(engine, action, statement, [tuple(r.values()) for r in data.to_pylist()],
                    _trino_rows(self.stack), postgres_rows(self.settings), made)  # fmt: skip
        self.steps.append(done)
        progress(f"rest: {engine} {action}: pyiceberg reads {done.pyiceberg}, "
                 f"equals PostgreSQL: {done.same}{refused}")  # fmt: skip
        return done


def snapshots(stack: Settings, steps: list[Step]) -> list[dict]:
    """Each snapshot of the table beside the engine whose step made it, with the data and
    delete files it added (from its summary)."""
    table = lakehouse.catalog(stack).load_table(TABLE)
    maker = {snapshot: step for step in steps for snapshot in step.snapshots}
    found = []
    for snapshot in table.snapshots():
        step = maker.get(snapshot.snapshot_id)
        summary = snapshot.summary.additional_properties if snapshot.summary else {}
        found.append({
            "snapshot": snapshot.snapshot_id,
            "engine": step.engine if step else "",
            "step": step.action if step else "(not a step of the walk)",
            "operation": snapshot.summary.operation.value if snapshot.summary else "",
            "added data files": int(summary.get("added-data-files", 0)),
            "added delete files": int(summary.get("added-delete-files", 0)),
            "total records": int(summary.get("total-records", 0)),
        })  # fmt: skip
    return found


def two_writers_in_postgres(first: str, second: str, settings: Settings | None = None) -> list:
    """PostgreSQL's answer to the same race: `first` runs in an open transaction, `second`
    commits meanwhile from another connection, then `first` commits; the ids it then holds."""
    with postgres.connect(TWIN_DATABASE, settings) as slow:  # psycopg: a transaction is open
        slow.execute(in_postgres(first))
        with postgres.connect(TWIN_DATABASE, settings, autocommit=True) as fast:
            fast.execute(in_postgres(second))
        slow.commit()
    with postgres.connect(TWIN_DATABASE, settings) as conn:
        return [row[0] for row in conn.execute("select id from wallet order by id").fetchall()]
