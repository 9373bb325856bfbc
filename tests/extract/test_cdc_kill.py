"""A CDC catch-up killed with SIGKILL for real (a child process, paused by its own progress
callback after the peek, after the first table's commit, after the advance), then run again:
both tables equal PostgreSQL row by row (read with psycopg), no key twice, the tables a commit
recorded are not written again, and the slot holds no change back."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from playground import lakehouse
from playground.extract import cdc
from playground.services import postgres
from playground.services.processes import kill_at_line
from tests.extract.test_cdc import DATABASE, SLOT, TABLE_DDL, held, lake_rows, load, pg_rows

TABLES = {"item": ("cdc.item", "id"), "item_b": ("cdc.item_b", "id")}
CHILD = f"""
import os, time
from playground import lakehouse
from playground.extract import cdc
from playground.services import postgres

def progress(line):
    print(line, flush=True)
    if line.startswith(os.environ["CDC_PAUSE_AT"]):
        time.sleep(120)  # killed here

with postgres.connect({DATABASE!r}) as conn:
    cdc.catch_up(conn, {SLOT!r}, lakehouse.catalog(), {TABLES!r}, progress=progress)
print("done", flush=True)
"""


def _day(conn) -> None:
    """Changes of every kind: a key change, an update beside a TOASTed value, an insert, a
    delete, and a TRUNCATE followed by an insert."""
    conn.execute("update item set id = 100 where id = 1")
    conn.execute("update item set note = 'kept big' where id = 7")
    conn.execute("insert into item values (21, 'new', 2.5, now(), true, repeat('ש', 1500))")
    conn.execute("delete from item where id = 2")
    conn.execute("truncate item_b")
    conn.execute("insert into item_b values (1, 'after truncate', 1, null, null, null)")
    conn.commit()


@pytest.fixture
def two_tables(fresh_postgres, settings):
    postgres.ensure_database(DATABASE)
    with postgres.connect(DATABASE) as conn:
        for table in TABLES:
            conn.execute(TABLE_DDL.replace("item", table))
            conn.execute(
                f"insert into {table} select g, 'n' || g, g, '2024-03-01 12:00Z', g % 3 = 0, "  # noqa: S608
                "case when g = 7 then repeat('é', 1600) end from generate_series(1, 10) g"
            )
        conn.commit()
        cdc.start(conn, SLOT, TABLES)
        cat = lakehouse.catalog(settings)
        for table in TABLES:
            load(settings, cat, table)
        yield conn, cat
        conn.rollback()
        cdc.drop(conn, SLOT)


@pytest.mark.parametrize("pause_at", ["peeked", "committed item:", "committed item_b:", "advanced"])
def test_a_catch_up_killed_at_any_step_then_rerun_is_exact(two_tables, pause_at) -> None:
    conn, cat = two_tables
    _day(conn)
    env = {**os.environ, "CDC_PAUSE_AT": pause_at}
    seen = kill_at_line([sys.executable, "-c", CHILD], f"^{pause_at}", extra_wait=0.2, env=env)
    assert seen[-1].startswith(pause_at) and "done" not in seen
    snapshots = {t: len(cat.load_table(i).snapshots()) for t, (i, _k) in TABLES.items()}
    again = cdc.catch_up(conn, SLOT, cat, TABLES)
    if pause_at != "peeked":  # item's commit recorded the batch: the rerun writes nothing there
        assert again["item"] == (0, 0)
        assert len(cat.load_table("cdc.item").snapshots()) == snapshots["item"]
    if pause_at in ("committed item_b:", "advanced"):  # every table recorded it
        assert again == {"item": (0, 0), "item_b": (0, 0)}
    for table, (identifier, _key) in TABLES.items():
        lake = lake_rows(cat, identifier)
        assert lake == pg_rows(conn, table)
        assert len({row[0] for row in lake}) == len(lake)  # no key twice
    assert [r[5] for r in lake_rows(cat) if r[0] == 7] == ["é" * 1600]
    lag, active = held(conn)
    assert not active and lag < 1024


WAITING = f"""
import sys
from playground import lakehouse
from playground.extract import cdc
from playground.services import postgres

def progress(line):
    print(line, flush=True)
    if line.startswith("peeked"):
        sys.stdin.readline()  # held here until the test lets it go

with postgres.connect({DATABASE!r}) as conn:
    print(cdc.catch_up(conn, {SLOT!r}, lakehouse.catalog(), {TABLES!r}, progress=progress))
"""


def test_two_catch_ups_at_once_apply_each_change_once(two_tables) -> None:
    """The first peeks and waits; the second catches up whole; more changes come; the first
    goes on with its old batch: it writes nothing and leaves the slot where the second put it."""
    conn, cat = two_tables
    _day(conn)
    first = subprocess.Popen([sys.executable, "-c", WAITING], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert first.stdout.readline().startswith("peeked")
        second = cdc.catch_up(conn, SLOT, cat, TABLES)
        assert second["item"] != (0, 0)
        conn.execute("insert into item values (22, 'later', 1, null, null, null)")
        conn.commit()
        out, _ = first.communicate("go\n", timeout=120)
    finally:
        first.kill()
        first.wait()
    assert first.returncode == 0 and "{'item': (0, 0), 'item_b': (0, 0)}" in out
    cdc.catch_up(conn, SLOT, cat, TABLES)
    for table, (identifier, _key) in TABLES.items():
        lake = lake_rows(cat, identifier)
        assert lake == pg_rows(conn, table) and len({r[0] for r in lake}) == len(lake)
    assert held(conn)[0] < 1024
