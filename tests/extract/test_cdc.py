"""Change data capture: pgoutput decoded from a real slot (a server of the test's own, as the
playground starts it: wal_level=logical), and applied to an Iceberg table that then equals
PostgreSQL row by row."""

from __future__ import annotations

import struct

import pyarrow as pa
import pytest

from playground import lakehouse
from playground.extract import cdc
from playground.extract.reconcile import Source, differences
from playground.services import postgres

DATABASE, SLOT = "cdc_test", "cdc_test"


def _relation(relid: int, name: str, columns: list[str]) -> bytes:
    body = struct.pack("!I", relid) + b"public\0" + name.encode() + b"\0d"
    body += struct.pack("!h", len(columns))
    for column in columns:
        body += b"\x01" + column.encode() + b"\0" + struct.pack("!Ii", 23, -1)
    return b"R" + body


def _tuple(*values: str | None) -> bytes:
    out = struct.pack("!h", len(values))
    for value in values:
        if value is None:
            out += b"n"
        else:
            out += b"t" + struct.pack("!i", len(value.encode())) + value.encode()
    return out


def test_pgoutput_messages_become_changes_and_last_states() -> None:
    messages = [
        b"B" + bytes(20),
        _relation(7, "payment", ["payment_id", "amount"]),
        b"I" + struct.pack("!I", 7) + b"N" + _tuple("1", "2.99"),
        b"I" + struct.pack("!I", 7) + b"N" + _tuple("2", None),
        b"U" + struct.pack("!I", 7) + b"K" + _tuple("1", None) + b"N" + _tuple("1", "3.99"),
        b"D" + struct.pack("!I", 7) + b"K" + _tuple("2", None),
    ]
    found = list(cdc.parse(messages))
    assert [c.op for c in found] == ["insert", "insert", "update", "delete"]
    assert {c.table for c in found} == {"payment"}
    assert found[2].row == {"payment_id": "1", "amount": "3.99"}
    touched, alive = cdc.last_states(found, "payment", "payment_id")
    assert touched == {"1", "2"} and alive == [{"payment_id": "1", "amount": "3.99"}]


@pytest.fixture
def source_table(fresh_postgres):
    postgres.ensure_database(DATABASE)
    with postgres.connect(DATABASE) as conn:
        conn.execute("drop table if exists item")
        conn.execute("create table item (id int primary key, price numeric(5,2), seen timestamptz,"
                     " ok boolean, note text)")  # fmt: skip
        conn.execute("insert into item select g, g + 0.5, '2024-03-01 12:00Z', g % 2 = 0, "
                     "'n' || g from generate_series(1, 20) g")  # fmt: skip
        conn.commit()
        yield conn
        cdc.drop(conn, SLOT)


def test_a_slot_catches_inserts_updates_and_deletes_and_they_apply_exactly(
    source_table, settings
) -> None:
    conn = source_table
    source = Source(DATABASE, settings)
    rows = source.rows("item")
    lakehouse.write_table("cdc.item", rows, cat=source.cat)
    cdc.start(conn, SLOT, ["item"])
    conn.execute("insert into item values (21, 1.25, '2024-03-02 08:30+02', null, 'it''s new')")
    conn.execute("update item set price = 9.99, ok = true, note = null where id = 3")
    conn.execute("delete from item where id in (4, 5)")
    conn.execute("update item set note = 'again' where id = 21")
    conn.commit()
    changes = cdc.read(conn, SLOT)
    assert sorted((c.op, c.row["id"]) for c in changes) == [
        ("delete", "4"),
        ("delete", "5"),
        ("insert", "21"),
        ("update", "21"),
        ("update", "3"),
    ]
    assert cdc.read(conn, SLOT) == []  # read once: consumed
    assert cdc.apply(source.cat, changes, "item", "cdc.item", "id") == (2, 2)
    assert differences(source, "item", "cdc.item").equal
    table = lakehouse.read("cdc.item", cat=source.cat)
    new = table.filter(pa.compute.equal(table.column("id"), 21)).to_pylist()[0]
    assert new["note"] == "again" and str(new["price"]) == "1.25" and new["ok"] is None
    assert new["seen"].isoformat() == "2024-03-02T06:30:00+00:00"
    source.close()
