"""Generated histories: a Hypothesis rule-based state machine plays random inserts, updates (key
changes, key swaps, swapped prices, equal-length edits, TOASTed values over 2 kB, updates beside
an unchanged TOASTed value), deletes, TRUNCATEs and interrupted catch-ups against a real
PostgreSQL; after every step CDC brings the lakehouse up to date, and the invariant is "the
lakehouse equals PostgreSQL row by row" (PostgreSQL read with psycopg, Iceberg with PyIceberg).

An interrupted catch-up stops by an exception from its progress callback after the step it
names: what it leaves (the slot, the Iceberg table) is what a kill leaves there, since a
catch-up keeps nothing else; `test_cdc_kill.py` kills a real process at the same steps.
The suite runs a few examples (under 90 s); `-m slow` runs the longer search.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, Phase
from hypothesis import settings as search
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from playground import lakehouse
from playground.extract import cdc
from playground.services import postgres
from tests.extract.test_cdc import DATABASE, SLOT, TABLE_DDL, lake_rows, load, pg_rows

KEYS = st.integers(min_value=-3, max_value=12)
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
               max_size=12)  # fmt: skip
PRICE = st.decimals(min_value=-99999, max_value=99999, places=2, allow_nan=False)
WHEN = st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=st.just(UTC))
BIG = st.tuples(TEXT.filter(bool), st.integers(min_value=2100, max_value=4000))

OPS = st.one_of(
    st.tuples(
        st.just("insert"),
        KEYS,
        st.none() | TEXT,
        st.none() | PRICE,
        st.none() | WHEN,
        st.none() | st.booleans(),
    ),  # fmt: skip
    st.tuples(st.just("edit"), KEYS, st.integers(1, 12), TEXT.filter(lambda t: len(t) == 1)),
    st.tuples(st.just("key"), KEYS, KEYS),
    st.tuples(st.just("swap keys"), KEYS, KEYS),
    st.tuples(st.just("swap prices"), KEYS, KEYS),
    st.tuples(st.just("big"), KEYS, BIG),
    st.tuples(st.just("touch"), KEYS),
    st.tuples(st.just("delete"), KEYS),
    st.tuples(st.just("truncate")),
)


def play(conn, op: tuple) -> None:
    """One operation as the shop's application would run it (a key that is taken is skipped)."""
    kind, *args = op
    run = conn.execute
    if kind == "insert":
        run("insert into item (id, note, price, seen, ok) values (%s, %s, %s, %s, %s) "
            "on conflict (id) do nothing", args)  # fmt: skip
    elif kind == "edit":  # an equal-length edit: one character replaced
        key, at, char = args
        run("update item set note = overlay(note placing %s from %s for 1) "
            "where id = %s and length(note) >= %s", (char, at, key, at))  # fmt: skip
    elif kind == "key":
        run("update item set id = %s where id = %s and not exists "
            "(select 1 from item where id = %s)", (args[1], args[0], args[1]))  # fmt: skip
    elif kind == "swap keys":  # in one transaction, through a free key
        a, b = args
        both = run("select count(*) from item where id in (%s, %s)", (a, b)).fetchone()[0]
        if a != b and both == 2:
            run("update item set id = -1000 where id = %s", (a,))
            run("update item set id = %s where id = %s", (a, b))
            run("update item set id = %s where id = -1000", (b,))
    elif kind == "swap prices":
        run("update item set price = case id when %s then (select price from item where id = %s) "
            "else (select price from item where id = %s) end where id in (%s, %s)",
            (args[0], args[1], args[0], args[0], args[1]))  # fmt: skip
    elif kind == "big":
        key, (text, size) = args
        run("update item set big = left(repeat(%s, %s), %s) where id = %s",
            (text, size, size, key))  # fmt: skip
    elif kind == "touch":  # the TOASTed value, if any, stays unchanged: pgoutput sends 'u'
        run("update item set price = coalesce(price, 0) + 1 where id = %s", (args[0],))
    elif kind == "delete":
        run("delete from item where id = %s", (args[0],))
    else:
        run("truncate item")


class Interrupted(Exception):
    pass


class History(RuleBasedStateMachine):
    conn = cat = data_settings = None  # set by the test below

    @initialize(rows=st.lists(st.tuples(KEYS, TEXT, PRICE), max_size=6))
    def fresh(self, rows) -> None:
        conn = self.conn
        cdc.drop(conn, SLOT)
        conn.execute("drop table if exists item")
        conn.execute(TABLE_DDL)
        for key, note, price in rows:
            play(conn, ("insert", key, note, price, None, None))
        conn.commit()
        cdc.start(conn, SLOT, ["item"])
        if self.cat.table_exists("cdc.item"):
            self.cat.drop_table("cdc.item")
        load(self.data_settings, self.cat)

    @rule(ops=st.lists(OPS, min_size=1, max_size=4), together=st.booleans())
    def change(self, ops, together) -> None:
        for op in ops:
            play(self.conn, op)
            if not together:
                self.conn.commit()
        self.conn.commit()

    @rule(ops=st.lists(OPS, min_size=1, max_size=3),
          step=st.sampled_from(["peeked", "committed", "advanced"]))  # fmt: skip
    def interrupted_catch_up(self, ops, step) -> None:
        self.change(ops, True)

        def progress(line: str) -> None:
            if line.startswith(step):
                raise Interrupted(line)

        with pytest.raises(Interrupted):
            cdc.catch_up(self.conn, SLOT, self.cat, {"item": ("cdc.item", "id")}, progress)
        self.conn.rollback()

    @invariant()
    def lakehouse_equals_postgres(self) -> None:
        if not self.cat.table_exists("cdc.item"):
            return  # before `fresh`
        cdc.catch_up(self.conn, SLOT, self.cat, {"item": ("cdc.item", "id")})
        lake = lake_rows(self.cat)
        assert lake == pg_rows(self.conn)
        assert len({row[0] for row in lake}) == len(lake)


@contextmanager
def _history(data_settings):
    postgres.ensure_database(DATABASE)
    with postgres.connect(DATABASE) as conn:
        History.conn, History.cat = conn, lakehouse.catalog(data_settings)
        History.data_settings = data_settings
        try:
            yield
        finally:
            conn.rollback()
            cdc.drop(conn, SLOT)


def test_found_a_key_reused_then_moved_across_interrupted_catch_ups(fresh_postgres, settings):
    """A history the machine found against a fold that ignored old keys, kept as it printed it."""
    with _history(settings):
        state = History()
        state.fresh(rows=[(10, "9羞þ@i\x9bè", Decimal("19.70")), (0, "", Decimal("0.00")),
                          (-2, "😍", Decimal("864.89"))])  # fmt: skip
        state.lakehouse_equals_postgres()
        state.interrupted_catch_up(ops=[("insert", 0, None, None, None, None)], step="peeked")
        state.lakehouse_equals_postgres()
        state.interrupted_catch_up(
            ops=[("key", 0, 0), ("insert", 0, None, None, None, None), ("edit", 0, 1, "0")],
            step="peeked",
        )
        state.lakehouse_equals_postgres()
        state.interrupted_catch_up(ops=[("key", 0, 9)], step="peeked")
        state.lakehouse_equals_postgres()
        state.teardown()


def _run(
    fresh_postgres,
    data_settings,
    examples: int,
    steps: int,
    shrink: bool,
    derandomize: bool = False,
) -> None:
    with _history(data_settings):
        machine = History.TestCase
        machine.settings = search(
            max_examples=examples, stateful_step_count=steps, deadline=None,
            suppress_health_check=[HealthCheck.too_slow], database=None,
            derandomize=derandomize,
            phases=[p for p in Phase if shrink or p not in (Phase.shrink, Phase.explain)],
        )  # fmt: skip
        machine().runTest()


def test_generated_histories_keep_the_lakehouse_equal(fresh_postgres, settings) -> None:
    """A failure shows its history unshrunk (shrinking can take minutes): `-m slow` shrinks."""
    # the suite plays the same histories every run (a red run names a bug, never bad luck);
    # `CDC_EXAMPLES=N` and `-m slow` search new ones
    examples = os.environ.get("CDC_EXAMPLES")
    _run(fresh_postgres, settings, int(examples or 10), 8, shrink=False, derandomize=not examples)


@pytest.mark.slow
def test_longer_generated_histories_keep_the_lakehouse_equal(request) -> None:
    """Minutes: runs only when asked for, with `-m slow`."""
    if request.config.option.markexpr.strip() != "slow":
        pytest.skip("the longer search runs with `pytest -m slow`")
    fresh = request.getfixturevalue("fresh_postgres")  # first: it sets the data directory
    _run(fresh, request.getfixturevalue("settings"), 60, 15, shrink=True)
