"""Change data capture through PostgreSQL's logical replication, applied to Iceberg tables.

PostgreSQL writes every change to its write-ahead log; with `wal_level=logical` (the embedded
server and the compose stack set it) a *replication slot* keeps the changes since it was created
until a reader consumes them, and an output plugin decodes them. The bundled server has
`pgoutput`, the plugin PostgreSQL's own logical replication uses; its messages follow the
documented "Logical Replication Message Formats" (protocol version 1), which `parse` reads:
Relation (`R`: a table's columns), Insert (`I`), Update (`U`), Delete (`D`), Truncate (`T`), and
Begin/Commit around each transaction. Values arrive as text, as PostgreSQL prints them (in the
session's time zone, which `read` sets to UTC).

A delete carries the row's primary key (its replica identity): that is what a watermark cannot
see. `apply` folds the changes into each key's last state and commits, per table, one delete of
every touched key and one append of the surviving rows (one Iceberg transaction).

A slot keeps write-ahead log until it is read: a slot nobody reads fills the disk. `drop` it when
you are done (`slots()` lists them).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import psycopg
import pyarrow as pa
from psycopg import sql
from pyiceberg.expressions import In

from playground.config.names import check_identifier


class CdcError(RuntimeError):
    """Logical replication is not available or not set up; the message says what to do."""


@dataclass(frozen=True)
class Change:
    table: str  # the table as published (a partitioned table's root, not its partition)
    op: str  # "insert", "update", "delete", "truncate"
    row: dict[str, str | None]  # column → text value (a delete: the key columns only)


def _checked(name: str) -> str:
    check_identifier(f"public.{name}")
    return name


def start(conn: psycopg.Connection, slot: str, tables: Iterable[str]) -> None:
    """Publish `tables` (partitions as their root table) and create the slot (`slot` names both).

    Changes made after this call are kept for `read`. A slot of that name is dropped first.
    """
    level = conn.execute("show wal_level").fetchone()[0]
    if level != "logical":
        raise CdcError(
            f"PostgreSQL runs with wal_level={level}; logical replication needs 'logical'. Restart "
            "the embedded server (`playground services stop`, then `playground services start`), "
            "which sets it; on your own server set wal_level = logical and restart it."
        )
    drop(conn, slot)
    names = sql.SQL(", ").join(sql.Identifier("public", _checked(t)) for t in tables)
    conn.execute(
        sql.SQL("create publication {} for table {} with (publish_via_partition_root = true)")
        .format(sql.Identifier(_checked(slot)), names)
    )  # fmt: skip
    conn.commit()  # a slot is created in a transaction that has written nothing
    conn.execute("select pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
    conn.commit()


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


def read(conn: psycopg.Connection, slot: str, consume: bool = True) -> list[Change]:
    """The changes committed since the slot was created or last read (`consume=False`: peek)."""
    conn.execute("set timezone to 'UTC'")
    function = f"pg_logical_slot_{'get' if consume else 'peek'}_binary_changes"
    rows = conn.execute(
        f"select data from {function}(%s, null, null, 'proto_version', '1', "  # noqa: S608
        "'publication_names', %s)",
        (slot, slot),
    ).fetchall()
    conn.commit()
    return list(parse(bytes(row[0]) for row in rows))


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str):
        (value,) = struct.unpack_from("!" + fmt, self.data, self.at)
        self.at += struct.calcsize("!" + fmt)
        return value

    def string(self) -> str:
        end = self.data.index(b"\0", self.at)
        value = self.data[self.at : end].decode()
        self.at = end + 1
        return value

    def tuple_data(self, columns: list[str]) -> dict[str, str | None]:
        row: dict[str, str | None] = {}
        for name in columns[: self.take("h")]:
            kind = self.take("c")
            if kind == b"t":
                length = self.take("i")
                row[name] = self.data[self.at : self.at + length].decode()
                self.at += length
            elif kind == b"n":
                row[name] = None
            else:  # b"u": a large value the update did not change, sent only as "unchanged"
                raise CdcError(
                    f"column {name!r}: an unchanged TOASTed value; set REPLICA IDENTITY FULL "
                    "on the table to receive every value"
                )
        return row


def parse(messages: Iterable[bytes]) -> Iterator[Change]:
    """Decode pgoutput (protocol 1) messages into changes, in commit order."""
    relations: dict[int, tuple[str, list[str]]] = {}
    for message in messages:
        reader = _Reader(message)
        kind = reader.take("c")
        if kind == b"R":
            relid = reader.take("I")
            _namespace, name = reader.string(), reader.string()
            reader.take("c")  # replica identity setting
            columns = []
            for _ in range(reader.take("h")):
                reader.take("c")  # flags: part of the key
                columns.append(reader.string())
                reader.take("I"), reader.take("i")  # type oid and modifier
            relations[relid] = (name, columns)
        elif kind in (b"I", b"U", b"D"):
            name, columns = relations[reader.take("I")]
            marker = reader.take("c")
            if kind == b"U" and marker in (b"K", b"O"):  # the old key or row, then the new one
                reader.tuple_data(columns)
                marker = reader.take("c")
            op = {b"I": "insert", b"U": "update", b"D": "delete"}[kind]
            yield Change(name, op, reader.tuple_data(columns))
        elif kind == b"T":
            count, _options = reader.take("I"), reader.take("c")
            for _ in range(count):
                yield Change(relations[reader.take("I")][0], "truncate", {})
        # B (begin), C (commit), O (origin), Y (type), M (message): nothing to apply


def last_states(changes: Iterable[Change], table: str, key: str) -> tuple[set[str], list[dict]]:
    """For one table: (every key the changes touch, the rows alive after them, as text)."""
    alive: dict[str, dict | None] = {}
    for change in changes:
        if change.table != table:
            continue
        if change.op == "truncate":
            raise CdcError(f"{table} was truncated: reload it whole (`full_reload`)")
        alive[change.row[key]] = None if change.op == "delete" else change.row
    return set(alive), [row for row in alive.values() if row is not None]


def _typed(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Text values as PostgreSQL prints them, in the lakehouse table's types."""
    arrays = []
    for field in schema:
        values = [row.get(field.name) for row in rows]
        if pa.types.is_boolean(field.type):
            values = [None if v is None else v == "t" for v in values]
            arrays.append(pa.array(values, pa.bool_()))
        else:
            arrays.append(pa.array(values, pa.string()).cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def apply(cat, changes: list[Change], table: str, identifier: str, key: str) -> tuple[int, int]:
    """Bring the Iceberg table up to date with one table's changes; (keys deleted, rows written).

    One transaction: a delete of every key the changes touch, and an append of the rows that
    are alive after them. Keys are compared as the key column's type (an integer key here).
    """
    touched, alive = last_states(changes, table, key)
    if not touched:
        return 0, 0
    iceberg = cat.load_table(identifier)
    schema = iceberg.schema().as_arrow()
    keys = pa.array(sorted(touched), pa.string()).cast(schema.field(key).type).to_pylist()
    with iceberg.transaction() as tx:
        tx.delete(In(key, keys))
        if alive:
            tx.append(_typed(alive, schema))
    return len(touched) - len(alive), len(alive)
