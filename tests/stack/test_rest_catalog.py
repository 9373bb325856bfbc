"""The Iceberg REST catalog of the stack, against the real server (`trino_stack`): one table
written by PyIceberg, DuckDB and Trino in turn and read back equal by all three; two engines
committing at once; the server killed in the middle of a commit."""

import os
import signal
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psutil
import psycopg
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import CommitFailedException

from playground import lakehouse
from playground.engines import duck, trino
from playground.lakehouse import objectstore
from playground.services import postgres, processes
from playground.stack import catalog_gate, rest_catalog
from tests.helpers import free_port

pytestmark = [pytest.mark.stack, pytest.mark.slow]

SCHEMA = pa.schema([
    ("id", pa.int64()), ("amount", pa.decimal128(10, 2)), ("paid_at", pa.timestamp("us", tz="UTC")),
    ("tags", pa.list_(pa.string())), ("note", pa.string()),
])  # fmt: skip
COLUMNS = "id, amount, paid_at, tags, note"


def _utc(row: tuple) -> tuple:
    """A row with its timestamp in one zone object (DuckDB, Trino and Arrow each name UTC
    their own way)."""
    id_, amount, at, tags, note = row
    return id_, amount, at and at.astimezone(UTC), list(tags), note


def _three_reads(stack, identifier: str) -> dict[str, list[tuple]]:
    namespace, name = identifier.split(".")
    with duck.connect(settings=stack) as con:
        duck.attach_lakehouse(con, stack)
        by_duckdb = con.sql(f"select {COLUMNS} from lake.{namespace}.{name} order by id").fetchall()
    by_trino = trino.execute(
        f"select {COLUMNS} from iceberg.{namespace}.{name} order by id", settings=stack
    )[1]
    table = lakehouse.catalog(stack).load_table(identifier).scan().to_arrow().sort_by("id")
    by_pyiceberg = [tuple(r.values()) for r in table.to_pylist()]
    return {
        engine: [_utc(row) for row in rows]
        for engine, rows in (("duckdb", by_duckdb), ("trino", by_trino),
                             ("pyiceberg", by_pyiceberg))
    }  # fmt: skip


def test_each_engine_writes_and_the_other_two_read_the_same_rows(trino_stack) -> None:
    cat = lakehouse.catalog(trino_stack)
    cat.create_namespace_if_not_exists("rest_engines")
    if cat.table_exists("rest_engines.typed"):
        cat.purge_table("rest_engines.typed")
    table = cat.create_table("rest_engines.typed", schema=SCHEMA)
    # 1. PyIceberg: a decimal, an instant, a list, nulls everywhere
    table.append(pa.table({
        "id": [1, 2], "amount": [Decimal("1.10"), None],
        "paid_at": [datetime(2026, 3, 29, 1, 30, tzinfo=UTC), None],
        "tags": [["a", "b"], []], "note": [None, "x"],
    }, schema=SCHEMA))  # fmt: skip
    # 2. DuckDB, through the catalog: an insert and an update (a delete file and a new row)
    with duck.connect(settings=trino_stack) as con:
        duck.attach_lakehouse(con, trino_stack)
        con.execute(
            "insert into lake.rest_engines.typed values "
            "(3, 2.25, TIMESTAMPTZ '2026-10-25 01:30:00+00', ['c', NULL], NULL)"
        )
        con.execute("update lake.rest_engines.typed set note = 'duck' where id = 2")
    after_duckdb = _three_reads(trino_stack, "rest_engines.typed")
    # 3. Trino: an insert and a delete
    trino.execute("insert into iceberg.rest_engines.typed values (4, DECIMAL '3.35', "
                  "TIMESTAMP '2026-12-31 23:59:59.123456 UTC', ARRAY['d'], 'e')",
                  settings=trino_stack)  # fmt: skip
    trino.execute("delete from iceberg.rest_engines.typed where id = 1", settings=trino_stack)
    after_trino = _three_reads(trino_stack, "rest_engines.typed")

    expected_after_duckdb = [
        (1, Decimal("1.10"), datetime(2026, 3, 29, 1, 30, tzinfo=UTC), ["a", "b"], None),
        (2, None, None, [], "duck"),
        (3, Decimal("2.25"), datetime(2026, 10, 25, 1, 30, tzinfo=UTC), ["c", None], None),
    ]
    assert after_duckdb == {e: expected_after_duckdb for e in ("duckdb", "trino", "pyiceberg")}
    expected = [
        *expected_after_duckdb[1:],
        (4, Decimal("3.35"), datetime(2026, 12, 31, 23, 59, 59, 123456, tzinfo=UTC), ["d"], "e"),
    ]
    assert after_trino == {e: expected for e in ("duckdb", "trino", "pyiceberg")}
    sums = trino.execute("select sum(amount), count(*) from iceberg.rest_engines.typed",
                         settings=trino_stack)[1]  # fmt: skip
    assert sums == [(Decimal("5.60"), 3)]
    # every write is a snapshot of the one table: PyIceberg's append, DuckDB's two, Trino's two
    assert len(cat.load_table("rest_engines.typed").snapshots()) == 5
    cat.purge_table("rest_engines.typed")


def test_two_engines_commit_at_once_one_gets_the_conflict(trino_stack) -> None:
    cat = lakehouse.catalog(trino_stack)
    cat.create_namespace_if_not_exists("rest_engines")
    if cat.table_exists("rest_engines.race"):
        cat.purge_table("rest_engines.race")
    # PyIceberg retries a refused append on the new snapshot (4 times by default); this table
    # asks it not to, so its conflict shows too
    cat.create_table("rest_engines.race", schema=pa.schema([("id", pa.int64())]),
                     properties={"commit.retry.num-retries": "0"})  # fmt: skip
    with duck.connect(settings=trino_stack) as con:
        duck.attach_lakehouse(con, trino_stack)
        con.execute("begin")
        con.execute("insert into lake.rest_engines.race values (1)")
        # Trino commits while DuckDB's transaction is open: DuckDB's commit asserts the branch
        # still points at the snapshot it started from, and the catalog refuses it.
        trino.execute("insert into iceberg.rest_engines.race values (2)", settings=trino_stack)
        with pytest.raises(Exception, match=r"Conflict_409[\s\S]*Requirement failed: branch main"):
            con.execute("commit")
        ids = [r[0] for r in con.sql("select id from lake.rest_engines.race").fetchall()]
        assert ids == [2]  # Trino's row; DuckDB's insert was never committed, not half-written
        con.execute("insert into lake.rest_engines.race values (1)")  # the retry
    # PyIceberg, from a table object that is one commit behind, is refused the same way...
    stale = cat.load_table("rest_engines.race")
    trino.execute("insert into iceberg.rest_engines.race values (3)", settings=trino_stack)
    with pytest.raises(CommitFailedException, match="branch main has changed"):
        stale.append(pa.table({"id": pa.array([4], pa.int64())}))
    rows = cat.load_table("rest_engines.race").scan().to_arrow()
    assert sorted(rows.column("id").to_pylist()) == [1, 2, 3]  # nothing lost, nothing doubled
    cat.purge_table("rest_engines.race")


def _waiting_update(stack) -> bool:
    with psycopg.connect(postgres.url(stack.catalog_db, stack)) as conn:
        row = conn.execute(
            "select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
            "and query ilike 'update iceberg_tables%'"
        ).fetchone()
    return row[0] > 0


def test_server_killed_mid_commit_leaves_a_complete_snapshot(trino_stack, tmp_path) -> None:
    """A second catalog server over the same database and bucket is killed while its commit
    waits on the catalog row: the table then points at one complete snapshot, and works."""
    cat = lakehouse.catalog(trino_stack)
    cat.create_namespace_if_not_exists("rest_engines")
    if cat.table_exists("rest_engines.killed"):
        cat.purge_table("rest_engines.killed")
    table = cat.create_table("rest_engines.killed", schema=pa.schema([("id", pa.int64())]))
    table.append(pa.table({"id": pa.array([1, 2], pa.int64())}))
    port = free_port()
    server = rest_catalog.start(trino_stack, tmp_path / "second", port,
                                (trino_stack.pg_host, trino_stack.pg_port),
                                trino_stack.s3_endpoint, progress=lambda _l: None)  # fmt: skip
    second = RestCatalog("second", **{**lakehouse.catalog_properties(trino_stack),
                                      "uri": f"http://127.0.0.1:{port}"})  # fmt: skip
    url = postgres.url(trino_stack.catalog_db, trino_stack)
    errors: list[BaseException] = []
    try:
        with psycopg.connect(url) as lock:  # holds the table's catalog row
            lock.execute(
                "select * from iceberg_tables where table_namespace = 'rest_engines' "
                "and table_name = 'killed' for update"
            )

            def commit() -> None:
                try:
                    second.load_table("rest_engines.killed").append(
                        pa.table({"id": pa.array([3], pa.int64())})
                    )
                except BaseException as exc:  # noqa: BLE001 - the test inspects it
                    errors.append(exc)

            writer = threading.Thread(target=commit)
            writer.start()
            deadline = time.monotonic() + 30
            while not _waiting_update(trino_stack):  # new metadata written, row update waiting
                assert time.monotonic() < deadline, "the commit never reached the catalog row"
                time.sleep(0.1)
            (java,) = psutil.Process(server.pid).children()
            folder = os.path.dirname(java.environ()[catalog_gate.SOCKET_VARIABLE])
            os.killpg(server.pid, signal.SIGKILL)
            writer.join(30)
            lock.rollback()
    finally:
        processes.stop(server.pid)
    assert os.path.isdir(folder)  # the killed gate's socket folder, which the next gate removes
    assert Path(folder) in catalog_gate.sweep_killed_gates()
    assert errors, "the client of the killed server must not report success"
    time.sleep(0.5)  # the orphaned backend's statement, if it runs, runs now
    current = cat.load_table("rest_engines.killed")
    ids = sorted(current.scan().to_arrow().column("id").to_pylist())
    # Either the old snapshot or the new one, each complete: never a half-written table
    assert ids in ([1, 2], [1, 2, 3])
    assert len(current.snapshots()) == len(ids) - 1
    files, path = objectstore.filesystem(trino_stack, current.metadata_location)
    assert files.get_file_info(path).size > 0
    current.append(pa.table({"id": pa.array([9], pa.int64())}))  # and it takes commits again
    assert sorted(cat.load_table("rest_engines.killed").scan().to_arrow().column("id")
                  .to_pylist()) == [*ids, 9]  # fmt: skip
    cat.purge_table("rest_engines.killed")


def test_duckdb_changes_a_partitioned_table_with_a_two_action_merge(trino_stack) -> None:
    """What older DuckDB releases refused (DELETE on a partitioned table, MERGE with an UPDATE and
    an INSERT) works with the pinned one, and PyIceberg reads the result."""
    cat = lakehouse.catalog(trino_stack)
    cat.create_namespace_if_not_exists("rest_engines")
    if cat.table_exists("rest_engines.by_month"):
        cat.purge_table("rest_engines.by_month")
    trino.execute("create table iceberg.rest_engines.by_month (id bigint, paid_at timestamp(6) "
                  "with time zone) with (partitioning = ARRAY['month(paid_at)'])",
                  settings=trino_stack)  # fmt: skip
    trino.execute("insert into iceberg.rest_engines.by_month values "
                  "(1, TIMESTAMP '2026-01-05 00:00:00 UTC'), "
                  "(2, TIMESTAMP '2026-02-05 00:00:00 UTC')",
                  settings=trino_stack)  # fmt: skip
    with duck.connect(settings=trino_stack) as con:
        duck.attach_lakehouse(con, trino_stack)
        con.execute("delete from lake.rest_engines.by_month where id = 1")
        con.execute(
            "merge into lake.rest_engines.by_month t using (values "
            "(2, TIMESTAMPTZ '2026-02-06 00:00:00+00'), (3, TIMESTAMPTZ '2026-03-01 00:00:00+00')) "
            "s(id, paid_at) on t.id = s.id when matched then update set paid_at = s.paid_at "
            "when not matched then insert values (s.id, s.paid_at)"
        )
    rows = cat.load_table("rest_engines.by_month").scan().to_arrow().sort_by("id").to_pylist()
    assert rows == [
        {"id": 2, "paid_at": datetime(2026, 2, 6, tzinfo=UTC)},
        {"id": 3, "paid_at": datetime(2026, 3, 1, tzinfo=UTC)},
    ]
    cat.purge_table("rest_engines.by_month")


def test_lesson_02_leaves_another_installs_stack_alone(trino_stack) -> None:
    """A REST catalog answering on the port, behind an object store that refuses this install's
    keys (another user's stack): the lesson's stack part does not run, and says why."""
    from playground.lessons import duckdb_writes

    assert duckdb_writes.stack_catalog(trino_stack)[0] is not None
    someone_else = replace(trino_stack, s3_secret_key="not-this-install")
    stack, why = duckdb_writes.stack_catalog(someone_else)
    assert stack is None
    assert "refuses this install's keys" in why and "not this install's stack" in why
