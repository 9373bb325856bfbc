"""pgoutput, PostgreSQL's own logical decoding output, decoded into changes (protocol version 1).

The messages follow PostgreSQL's documented "Logical Replication Message Formats": Begin (`B`),
Relation (`R`: a table's columns), Insert (`I`), Update (`U`), Delete (`D`), Truncate (`T`) and
Commit (`C`). Values arrive as text, as PostgreSQL prints them (in the reading session's time
zone). Two details decide whether a copy stays right:

- An update that changes the primary key first sends the old key (`K`, or the old row `O` under
  REPLICA IDENTITY FULL): `Change.old` holds it, so the old row can be removed.
- A large (TOASTed) value an update did not change is not sent at all, only marked `u`: the row
  holds `UNCHANGED` there, and whoever applies the change keeps the value it already has.

Why a decoder of our own: psycopg 3 has no replication support (psycopg2 had one; its successor
leaves it open), and dlt's `pg_replication` source is code copied into a dlt project that needs
psycopg2 and dlt's own pipeline and destinations; neither reads pgoutput for a library call. The
format is small, documented and stable, and reading it from `pg_logical_slot_peek_binary_changes`
needs no replication connection.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

UNCHANGED = type("Unchanged", (), {"__repr__": lambda _self: "UNCHANGED"})()
"""The value of a TOASTed column an update left as it was (pgoutput's `u`)."""

Row = dict[str, "str | None | object"]  # column → text, None (NULL) or UNCHANGED


@dataclass(frozen=True)
class Change:
    table: str  # the table as published (a partitioned table's root, not its partition)
    op: str  # "insert", "update", "delete", "truncate"
    row: Row  # the new row; a delete: the old key (other columns None)
    lsn: int = 0  # where the transaction's commit record starts (its order in the log)
    old: Row | None = field(default=None)  # an update's old key or row, when the key changed


def lsn_text(lsn: int) -> str:
    """An LSN as PostgreSQL writes it (`16/B374D848`)."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def lsn_int(text: str) -> int:
    """An LSN written as PostgreSQL writes it, as a number."""
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


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

    def tuple_data(self, columns: list[str]) -> Row:
        row: Row = {}
        for name in columns[: self.take("h")]:
            kind = self.take("c")
            if kind == b"t":  # text: the only form asked for (no `binary` option)
                length = self.take("i")
                row[name] = self.data[self.at : self.at + length].decode()
                self.at += length
            elif kind == b"n":
                row[name] = None
            else:  # b"u": a TOASTed value the update did not change
                row[name] = UNCHANGED
        return row


def _relation(reader: _Reader) -> tuple[int, str, list[str]]:
    relid = reader.take("I")
    _namespace, name = reader.string(), reader.string()
    reader.take("c")  # replica identity setting
    columns = []
    for _ in range(reader.take("h")):
        reader.take("c")  # flags: part of the key
        columns.append(reader.string())
        reader.take("I"), reader.take("i")  # type oid and modifier
    return relid, name, columns


def parse(messages: Iterable[bytes]) -> Iterator[Change]:
    """Decode pgoutput (protocol 1) messages into changes, in commit order."""
    relations: dict[int, tuple[str, list[str]]] = {}
    lsn = 0
    for message in messages:
        reader = _Reader(message)
        kind = reader.take("c")
        if kind == b"B":
            lsn = reader.take("Q")  # the commit record's LSN
        elif kind == b"R":
            relid, name, columns = _relation(reader)
            relations[relid] = (name, columns)
        elif kind in (b"I", b"U", b"D"):
            name, columns = relations[reader.take("I")]
            marker, old = reader.take("c"), None
            if kind != b"I" and marker in (b"K", b"O"):  # the old key or row
                old = reader.tuple_data(columns)
                if kind == b"D":
                    yield Change(name, "delete", old, lsn)
                    continue
                marker = reader.take("c")
            op = {b"I": "insert", b"U": "update"}[kind]
            yield Change(name, op, reader.tuple_data(columns), lsn, old)
        elif kind == b"T":
            count, _options = reader.take("I"), reader.take("c")
            for _ in range(count):
                yield Change(relations[reader.take("I")][0], "truncate", {}, lsn)
        # C (commit), O (origin), Y (type), M (message): nothing to apply
