"""Change data capture through PostgreSQL's logical replication, applied to Iceberg exactly once.

PostgreSQL writes every change to its write-ahead log; with `wal_level=logical` (the embedded
server and the compose stack set it) a *replication slot* keeps the changes committed after it
was created until its reader says it has them, and `pgoutput` decodes them
(`playground.extract.pgoutput`). The order of a catch-up is what makes it exact:

1. `start` creates the slot *before* the first load: every change committed after that load
   began is in the slot, and replaying one the load already holds changes nothing
   (`cdc_apply`), so nothing committed between the two is lost.
2. `peek` writes a fence into the log (a flushed logical message) and reads the slot's changes
   up to it *without consuming them*: every transaction committed before the fence is there.
3. `apply`, per table, skips the transactions the table already holds (the LSN its last commit
   recorded in the snapshot summary), and writes the rest in one Iceberg commit that records
   the fence.
4. `advance` moves the slot to the fence; only then does PostgreSQL free that log.

A kill between any two steps loses nothing (the slot still holds what no commit recorded) and
applies nothing twice (a rerun skips what a commit recorded). `catch_up` runs steps 2 to 4,
after refusing a table whose columns PostgreSQL changed since `start` (the log carries no DDL;
the way out is `start`, then a whole reload).

A slot keeps write-ahead log until it is advanced: `drop` it when done. The playground's slots
are named `playground_...` and remember the process that created them, so `playground clean`
drops those a killed run left (`playground.services.slots`), and `playground doctor` lists
every slot with the log it holds back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import psycopg
from psycopg import sql
from pyiceberg.exceptions import CommitFailedException

from playground.config.names import check_identifier
from playground.extract import cdc_apply
from playground.extract.cdc_apply import CdcError
from playground.extract.pgoutput import Change, lsn_int, lsn_text, parse
from playground.services import slots as server_slots

__all__ = ["Batch", "CdcError", "Change", "advance", "apply", "catch_up", "drop", "peek", "start"]


@dataclass(frozen=True)
class Batch:
    slot: str
    fence: int  # every transaction committed before this LSN is in `changes`
    changes: list[Change]


def _checked(name: str) -> str:
    check_identifier(f"public.{name}")
    return name


def _require_logical(conn: psycopg.Connection) -> None:
    level = conn.execute("show wal_level").fetchone()[0]
    if level != "logical":
        raise CdcError(
            f"PostgreSQL runs with wal_level={level}; logical replication needs 'logical'. Restart "
            "the embedded server (`playground services stop`, then `playground services start`), "
            "which sets it; on your own server set wal_level = logical and restart it."
        )


def _require_keys(conn: psycopg.Connection, tables: list[str]) -> None:
    """Each table's updates and deletes must carry its key (a primary key or a chosen index)."""
    keyless = [
        t for t in tables
        if not conn.execute(
            "select 1 from pg_index where indrelid = %s::regclass and "
            "(indisprimary or indisreplident)", (sql.Identifier("public", t).as_string(conn),),
        ).fetchone()
    ]  # fmt: skip
    if keyless:
        raise CdcError(
            f"{', '.join(keyless)} has no primary key, so its deletes and updates carry no key: "
            "add one (alter table ... add primary key (...)), then start again"
        )


def start(conn: psycopg.Connection, slot: str, tables: Iterable[str]) -> int:
    """Publish `tables` (partitions as their root table) and create the slot (`slot` names both,
    and starts with `playground_`); the LSN it starts at. Load the tables after this call.

    A slot of that name is dropped first (refused while a reader uses it).
    """
    if not slot.startswith(server_slots.PREFIX):
        raise CdcError(f"slot {slot!r}: the playground's slots are named {server_slots.PREFIX}...")
    tables = [_checked(t) for t in tables]
    _require_logical(conn)
    _require_keys(conn, tables)
    drop(conn, slot)
    names = sql.SQL(", ").join(sql.Identifier("public", t) for t in tables)
    conn.execute(
        sql.SQL("create publication {} for table {} with (publish_via_partition_root = true)")
        .format(sql.Identifier(_checked(slot)), names)
    )  # fmt: skip
    server_slots.record_owner(conn, slot)
    conn.commit()  # a slot is created in a transaction that has written nothing
    row = conn.execute(
        "select lsn from pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,)
    ).fetchone()
    conn.commit()
    return lsn_int(row[0])


def drop(conn: psycopg.Connection, slot: str) -> None:
    """Drop the slot and its publication, if they exist."""
    if conn.execute("select 1 from pg_replication_slots where slot_name = %s", (slot,)).fetchone():
        conn.execute("select pg_drop_replication_slot(%s)", (slot,))
    conn.execute(sql.SQL("drop publication if exists {}").format(sql.Identifier(_checked(slot))))
    conn.commit()


def slots(conn: psycopg.Connection) -> list[tuple[str, int]]:
    """Every logical slot of the server, with the bytes of log it holds back."""
    return conn.execute(
        "select slot_name, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint "
        "from pg_replication_slots where slot_type = 'logical' order by 1"
    ).fetchall()


def peek(conn: psycopg.Connection, slot: str) -> Batch:
    """The changes the slot holds, up to a fence written now; the slot keeps them.

    Commits the connection's open transaction first; the peek runs in one of its own, in UTC.
    """
    conn.commit()
    with conn.transaction():
        conn.execute("set local timezone to 'UTC'")  # the session's zone stays as it was
        if not conn.execute("select 1 from pg_replication_slots where slot_name = %s",
                            (slot,)).fetchone():  # fmt: skip
            raise CdcError(
                f"no replication slot {slot!r}: start it (`cdc.start`), then reload the tables"
            )
        # a non-transactional message, flushed: every commit before it is in the log on disk
        fence = conn.execute(
            "select pg_logical_emit_message(false, 'playground.cdc', '', true)"
        ).fetchone()[0]
        rows = conn.execute(
            "select data from pg_logical_slot_peek_binary_changes(%s, %s, null, "
            "'proto_version', '1', 'publication_names', %s)",
            (slot, fence, slot),
        ).fetchall()
    return Batch(slot, lsn_int(fence), list(parse(bytes(row[0]) for row in rows)))


def apply(cat, batch: Batch, table: str, identifier: str, key: str | list[str]) -> tuple[int, int]:
    """Bring one Iceberg table up to date with the batch in one commit; (keys removed, rows
    written). Transactions the table already holds (by the LSN it recorded) are skipped."""
    key = [key] if isinstance(key, str) else list(key)
    iceberg = cat.load_table(identifier)
    net = cdc_apply.fold(
        batch.changes, table, key, since=cdc_apply.applied_lsn(iceberg, batch.slot)
    )
    if not net.changes:
        return 0, 0
    try:
        return cdc_apply.commit(iceberg, net, key, batch.slot, batch.fence)
    except CommitFailedException:
        raise CdcError(
            f"{identifier}: another writer committed first; nothing was applied, run again"
        ) from None


def advance(conn: psycopg.Connection, batch: Batch) -> None:
    """Tell the slot the batch is applied: PostgreSQL may free the log before its fence."""
    # never backwards: another catch-up may have advanced it further meanwhile
    conn.execute(
        "select pg_replication_slot_advance(slot_name, greatest(%s::pg_lsn, confirmed_flush_lsn)) "
        "from pg_replication_slots where slot_name = %s",
        (lsn_text(batch.fence), batch.slot),
    )
    conn.commit()


def _check_schema(conn: psycopg.Connection, cat, slot: str, table: str, identifier: str) -> None:
    """Refuse a table whose columns PostgreSQL changed since `start`: the log carries no DDL, so
    a column added, dropped or recreated with no change of a row after it never arrives.

    A column's definition (`pg_attribute`) written by a transaction younger than the one that
    created the slot's publication was changed after `start` (an ALTER of the column, a column
    dropped and added back under its own name, a default or NOT NULL set: the last is refused
    too, and the way out is the same).
    """
    columns = conn.execute(
        "select attname, attisdropped, coalesce(age(xmin) < (select age(xmin) from "
        "pg_publication where pubname = %s), false) from pg_attribute "
        "where attrelid = to_regclass(%s) and attnum > 0",
        (slot, sql.Identifier("public", table).as_string(conn)),
    ).fetchall()
    theirs = [name for name, dropped, _new in columns if not dropped]
    ours = cat.load_table(identifier).schema().column_names
    changed = [name for name, dropped, new in columns if new and not dropped]
    if any(new for _name, _dropped, new in columns) and not changed:
        changed = ["(a dropped column)"]
    if (refusal := cdc_apply.schema_changed(table, theirs, ours, changed)) is not None:
        raise refusal


def catch_up(
    conn: psycopg.Connection, slot: str, cat, tables: dict[str, tuple[str, str | list[str]]],
    progress: Callable[[str], None] = lambda _line: None,
) -> dict[str, tuple[int, int]]:  # fmt: skip
    """Peek, apply to each table (`{table: (identifier, key)}`), then advance; per table (keys
    removed, rows written). A table whose columns differ from the lakehouse's is refused first."""
    for table, (identifier, _key) in tables.items():
        _check_schema(conn, cat, slot, table, identifier)
    batch = peek(conn, slot)
    progress(f"peeked {len(batch.changes)} changes up to {lsn_text(batch.fence)}")
    done = {}
    for table, (identifier, key) in tables.items():
        done[table] = apply(cat, batch, table, identifier, key)
        progress(f"committed {table}: {done[table][0]} keys removed, {done[table][1]} rows written")
    advance(conn, batch)
    progress(f"advanced {slot} to {lsn_text(batch.fence)}")
    return done
