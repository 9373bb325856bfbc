"""Change data capture: pgoutput decoded from a real slot (a server of the test's own, as the
playground starts it: wal_level=logical), applied to an Iceberg table that then holds exactly
PostgreSQL's rows, read from PostgreSQL with psycopg and from Iceberg with PyIceberg."""

from __future__ import annotations

import struct

import pytest

from playground import lakehouse
from playground.extract import cdc, pgoutput
from playground.extract.cdc_apply import applied_lsn
from playground.extract.reconcile import Source
from playground.services import postgres

DATABASE, SLOT, IDENTIFIER = "cdc_test", "playground_cdc_test", "cdc.item"
COLUMNS = "id, note, price, seen, ok, big"
TABLE_DDL = """create table item (id int primary key, note text, price numeric(7,2),
    seen timestamptz, ok boolean, big text);
alter table item alter column big set storage external"""  # out of line past ~2 kB


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
        elif value == "u":
            out += b"u"
        else:
            out += b"t" + struct.pack("!i", len(value.encode())) + value.encode()
    return out


def test_pgoutput_messages_become_changes_with_old_keys_and_unchanged_values() -> None:
    begin = b"B" + struct.pack("!QqI", 0x16_0000_0040, 0, 7)
    messages = [
        begin,
        _relation(7, "payment", ["payment_id", "amount"]),
        b"I" + struct.pack("!I", 7) + b"N" + _tuple("1", "2.99"),
        b"U" + struct.pack("!I", 7) + b"K" + _tuple("1", None) + b"N" + _tuple("5", "u"),
        b"D" + struct.pack("!I", 7) + b"K" + _tuple("2", None),
        b"T" + struct.pack("!IcI", 1, b"\0", 7),
    ]
    found = list(pgoutput.parse(messages))
    assert [c.op for c in found] == ["insert", "update", "delete", "truncate"]
    assert {c.lsn for c in found} == {0x16_0000_0040}
    assert found[1].old == {"payment_id": "1", "amount": None}
    assert found[1].row == {"payment_id": "5", "amount": pgoutput.UNCHANGED}
    assert found[2].row == {"payment_id": "2", "amount": None}
    assert pgoutput.lsn_text(0x16_B374_D848) == "16/B374D848"
    assert pgoutput.lsn_int("16/B374D848") == 0x16_B374_D848


def pg_rows(conn, table: str = "item") -> list[tuple]:
    """PostgreSQL's rows, read by psycopg (the oracle), ordered by key."""
    return conn.execute(f"select {COLUMNS} from {table} order by id").fetchall()  # noqa: S608


def lake_rows(cat, identifier: str = IDENTIFIER) -> list[tuple]:
    """The lakehouse's rows, read by PyIceberg, ordered by key (duplicates kept)."""
    table = lakehouse.read(identifier, cat=cat).to_pylist()
    return sorted((tuple(r[c] for c in COLUMNS.split(", ")) for r in table), key=lambda t: t[0])


def load(settings, cat=None, table: str = "item") -> None:
    """The initial load: the whole table, read through DuckDB as the lessons load it."""
    source = Source(DATABASE, settings, cat=cat)
    try:
        lakehouse.write_table(f"cdc.{table}", source.rows(table), cat=source.cat)
    finally:
        source.close()  # DuckDB's open transaction would hold a lock on the table


def held(conn) -> tuple[int, bool]:
    """(bytes of log from the slot's confirmed position to now, is it active)."""
    return conn.execute(
        "select pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint, active "
        "from pg_replication_slots where slot_name = %s", (SLOT,)
    ).fetchone()  # fmt: skip


@pytest.fixture
def item(fresh_postgres, settings):
    """A fresh `item` table of 20 rows (row 7 with a 3 kB TOASTed value), a slot created
    first, then the initial load; yields (connection, catalog)."""
    postgres.ensure_database(DATABASE)
    with postgres.connect(DATABASE) as conn:
        conn.execute(TABLE_DDL)
        conn.execute(
            "insert into item select g, 'n' || g, g + 0.5, '2024-03-01 12:00Z', g % 2 = 0, "
            "case when g = 7 then repeat('é', 1600) else 'small' end from generate_series(1, 20) g"
        )
        conn.commit()
        cdc.start(conn, SLOT, ["item"])
        cat = lakehouse.catalog(settings)
        load(settings, cat)
        yield conn, cat
        conn.rollback()
        cdc.drop(conn, SLOT)


def catch_up(conn, cat) -> dict:
    return cdc.catch_up(conn, SLOT, cat, {"item": (IDENTIFIER, "id")})


def test_inserts_updates_and_deletes_apply_exactly(item) -> None:
    conn, cat = item
    conn.execute("set timezone to 'Asia/Kathmandu'")  # the learner's session, far from UTC
    conn.execute("insert into item values (21, 'it''s new ✓ שלום', 1.25, '2024-03-02 08:30+02', "
                 "null, null)")  # fmt: skip
    conn.execute("update item set price = 9.99, ok = true, note = null where id = 3")
    conn.execute("delete from item where id in (4, 5)")
    conn.execute("update item set note = 'again' where id = 21")
    conn.commit()
    assert catch_up(conn, cat) == {"item": (2, 2)}
    assert lake_rows(cat) == pg_rows(conn)
    new = [r for r in lake_rows(cat) if r[0] == 21][0]
    assert new[3].isoformat() == "2024-03-02T06:30:00+00:00" and new[4] is None
    assert conn.execute("show timezone").fetchone()[0] == "Asia/Kathmandu"  # left as it was


def test_a_changed_primary_key_removes_the_old_row(item) -> None:
    """Before: the old key's row stayed beside the new one (1 row PostgreSQL no longer has)."""
    conn, cat = item
    conn.execute("update item set id = 100 where id = 1")
    conn.execute("update item set id = -id where id in (2, 3)")  # several keys in one statement
    conn.commit()
    catch_up(conn, cat)
    assert lake_rows(cat) == pg_rows(conn)
    assert [r[0] for r in lake_rows(cat)][:2] == [-3, -2]


def test_an_unchanged_toasted_value_keeps_the_lakehouses_value(item) -> None:
    """Before: refused with advice (REPLICA IDENTITY FULL) that does not help."""
    conn, cat = item
    assert conn.execute("select pg_column_size(big) from item where id = 7").fetchone()[0] > 2000
    conn.execute("update item set note = 'moved', id = 70 where id = 7")  # key and note change
    conn.execute("update item set price = 1 where id = 70")  # twice in one batch
    conn.commit()
    batch = cdc.peek(conn, SLOT)
    assert pgoutput.UNCHANGED in batch.changes[-1].row.values()  # PostgreSQL did not send it
    catch_up(conn, cat)
    assert lake_rows(cat) == pg_rows(conn)
    assert [r[5] for r in lake_rows(cat) if r[0] == 70] == ["é" * 1600]


def test_truncate_empties_the_table(item) -> None:
    """Before: refused ("reload it whole")."""
    conn, cat = item
    conn.execute("truncate item")
    conn.execute("insert into item values (1, 'after', 2, null, true, null)")
    conn.commit()
    catch_up(conn, cat)
    assert lake_rows(cat) == pg_rows(conn) == [(1, "after", 2, None, True, None)]


def test_a_failed_apply_loses_nothing_and_a_rerun_applies_nothing_twice(item) -> None:
    """Before: read() consumed the slot first, so the changes of a failed apply were gone."""
    conn, cat = item
    conn.execute("update item set note = 'y' where id = 3")
    conn.execute("insert into item values (30, 'thirty', 3, null, false, null)")
    conn.commit()
    first = cdc.peek(conn, SLOT)
    assert len(first.changes) == 2  # peeked, then the apply fails: the slot keeps them
    assert len(cdc.peek(conn, SLOT).changes) == 2
    catch_up(conn, cat)
    assert lake_rows(cat) == pg_rows(conn)
    assert applied_lsn(cat.load_table(IDENTIFIER), SLOT) >= first.fence
    snapshots = len(cat.load_table(IDENTIFIER).snapshots())
    assert cdc.apply(cat, first, "item", IDENTIFIER, "id") == (0, 0)  # the same batch: skipped
    assert catch_up(conn, cat) == {"item": (0, 0)}
    assert len(cat.load_table(IDENTIFIER).snapshots()) == snapshots
    assert lake_rows(cat) == pg_rows(conn)
    lag, active = held(conn)
    assert not active and lag < 1024  # advanced past every change


def test_changes_between_the_slot_and_the_load_are_neither_lost_nor_doubled(
    fresh_postgres, settings
) -> None:
    """Before (load, then slot): a change committed between the two was in neither."""
    postgres.ensure_database(DATABASE)
    with postgres.connect(DATABASE) as conn:
        conn.execute(TABLE_DDL)
        conn.execute("insert into item select g, 'n' || g, g, null, true, 'b' "
                     "from generate_series(1, 5) g")  # fmt: skip
        conn.commit()
        cdc.start(conn, SLOT, ["item"])
        conn.execute("update item set id = 50 where id = 5")  # after the slot, before the load
        conn.execute("insert into item values (6, 'six', 6, null, null, null)")
        conn.commit()
        cat = lakehouse.catalog(settings)
        load(settings, cat)  # already holds both
        conn.execute("delete from item where id = 6")
        conn.commit()
        catch_up(conn, cat)
        assert lake_rows(cat) == pg_rows(conn)
        assert [r[0] for r in lake_rows(cat)] == [1, 2, 3, 4, 50]
        cdc.drop(conn, SLOT)


def test_start_refuses_a_table_without_a_key_and_a_foreign_name(fresh_postgres) -> None:
    postgres.ensure_database(DATABASE)
    with postgres.connect(DATABASE) as conn:
        conn.execute("create table nokey (a int)")
        conn.commit()
        with pytest.raises(cdc.CdcError, match="nokey has no primary key"):
            cdc.start(conn, SLOT, ["nokey"])
        with pytest.raises(cdc.CdcError, match="named playground_"):
            cdc.start(conn, "their_slot", ["nokey"])
        conn.rollback()
        with pytest.raises(cdc.CdcError, match="no replication slot"):
            cdc.peek(conn, SLOT)


def test_a_value_the_lakehouse_cannot_hold_is_refused_naming_it_and_nothing_is_lost(item) -> None:
    conn, cat = item
    conn.execute("update item set seen = 'infinity', note = 'far' where id = 4")
    conn.execute("update item set note = 'near' where id = 5")
    conn.commit()
    with pytest.raises(cdc.CdcError, match="column 'seen'.*'infinity' does not fit"):
        catch_up(conn, cat)
    conn.execute("update item set seen = '2024-05-01 00:00Z' where id = 4")  # fixed at the source
    conn.commit()
    catch_up(conn, cat)
    assert lake_rows(cat) == pg_rows(conn)
    assert [r[1] for r in lake_rows(cat) if r[0] in (4, 5)] == ["far", "near"]


def test_a_column_added_in_postgresql_is_refused_with_the_way_out(item, settings) -> None:
    conn, cat = item
    conn.execute("alter table item add column extra int")
    conn.execute("update item set extra = 1 where id = 1")
    conn.commit()
    with pytest.raises(cdc.CdcError, match="columns extra are in only one.*cdc.start"):
        catch_up(conn, cat)
    cdc.start(conn, SLOT, ["item"])  # the way out the message names
    load(settings, cat)
    conn.execute("update item set extra = 2 where id = 2")
    conn.commit()
    catch_up(conn, cat)
    assert [r["extra"] for r in lakehouse.read(IDENTIFIER, cat=cat).to_pylist() if r["id"] < 3] in (
        [1, 2],
        [2, 1],
    )


def test_bytea_values_arrive_as_bytes(fresh_postgres, settings) -> None:
    postgres.ensure_database(DATABASE)
    with postgres.connect(DATABASE) as conn:
        conn.execute("create table blob (id int primary key, data bytea)")
        conn.commit()
        cdc.start(conn, SLOT, ["blob"])
        source = Source(DATABASE, settings)
        lakehouse.write_table("cdc.blob", source.rows("blob"), cat=source.cat)
        source.close()
        conn.execute("insert into blob values (1, '\\x00ff10'::bytea), (2, null)")
        conn.commit()
        cat = lakehouse.catalog(settings)
        cdc.catch_up(conn, SLOT, cat, {"blob": ("cdc.blob", "id")})
        got = sorted(lakehouse.read("cdc.blob", cat=cat).to_pylist(), key=lambda r: r["id"])
        assert got == [{"id": 1, "data": b"\x00\xff\x10"}, {"id": 2, "data": None}]
        cdc.drop(conn, SLOT)
