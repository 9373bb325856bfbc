"""Generated histories: a Hypothesis rule-based state machine plays random inserts, updates (key
changes, key swaps, swapped prices, equal-length edits, TOASTed values over 2 kB, updates beside
an unchanged TOASTed value, dates moved), deletes, TRUNCATEs, schema changes (a column added,
with or without a default, under an odd name; a column dropped; a column dropped and added back
under its own name and type) and interrupted catch-ups against a real PostgreSQL. After every
step two lakehouse copies of the table are brought up to date, each the way the playground
offers:

- by change data capture (`cdc.catch_up`) into `cdc.item`; after a schema change it may refuse,
  in one line naming the way out, which the machine then takes (`cdc.start`, then
  `incremental.full_reload`);
- by row digests, as the `pagila_changes` sensor and lesson 05's "changed months" do, into
  `cdc.item_months` (partitioned by month of `seen`): `reconcile.compare` finds the months (or
  the whole table, after a schema change) whose digests differ, and the extract replaces them
  (`incremental.replace_changed_months`); a second comparison then finds nothing left.

The invariant is "each lakehouse table equals PostgreSQL row by row, column by column"
(PostgreSQL read with psycopg, Iceberg with PyIceberg).

An interrupted catch-up stops by an exception from its progress callback after the step it
names: what it leaves (the slot, the Iceberg table) is what a kill leaves there, since a
catch-up keeps nothing else; `test_cdc_kill.py` kills a real process at the same steps.
The suite runs a few examples (under 90 s); `-m slow` runs the longer search.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
from hypothesis import HealthCheck, Phase
from hypothesis import settings as search
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from psycopg import sql

from playground import lakehouse
from playground.config.settings import Settings, get_settings
from playground.extract import cdc, incremental, reconcile
from playground.extract.errors import ExtractError
from playground.services import postgres
from tests.extract.test_cdc import DATABASE, SLOT, TABLE_DDL, load

CDC, MONTHS = "cdc.item", "cdc.item_months"  # the two lakehouse copies
KEYS = st.integers(min_value=-3, max_value=12)
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
               max_size=12)  # fmt: skip
PRICE = st.decimals(min_value=-99999, max_value=99999, places=2, allow_nan=False)
WHEN = st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=st.just(UTC))
BIG = st.tuples(TEXT.filter(bool), st.integers(min_value=2100, max_value=4000))
# columns a schema change adds (odd names: a space, non-ASCII) and their defaults
ADDED = ["extra", "größe", "two words"]
DEFAULTS = {"integer": "7", "text": "'d é'", "boolean": "true", "numeric(5,1)": "2.5",
            "numeric(7,2)": "-0.5"}  # fmt: skip
# `id` is the key and `seen` the partition column of the monthly copy: neither is dropped
DROPPABLE = ["note", "price", "ok", "big", *ADDED]

OPS = st.one_of(
    st.tuples(
        st.just("insert"),
        KEYS,
        st.none() | TEXT,
        st.none() | PRICE,
        st.one_of(WHEN, WHEN, st.none()),  # a NULL date makes the whole table differ: rarer
        st.none() | st.booleans(),
    ),  # fmt: skip
    st.tuples(st.just("edit"), KEYS, st.integers(1, 12), TEXT.filter(lambda t: len(t) == 1)),
    st.tuples(st.just("key"), KEYS, KEYS),
    st.tuples(st.just("swap keys"), KEYS, KEYS),
    st.tuples(st.just("swap prices"), KEYS, KEYS),
    st.tuples(st.just("big"), KEYS, BIG),
    st.tuples(st.just("touch"), KEYS),
    st.tuples(st.just("move"), KEYS, WHEN),
    st.tuples(st.just("fill"), KEYS, st.integers(-5, 5)),
    st.tuples(st.just("delete"), KEYS),
    st.tuples(st.just("truncate")),
)


def columns(conn) -> dict[str, str]:
    """The table's columns now and their types, from PostgreSQL's catalog."""
    return dict(conn.execute(
        "select attname, format_type(atttypid, atttypmod) from pg_attribute where attrelid = "
        "'item'::regclass and attnum > 0 and not attisdropped order by attnum"
    ).fetchall())  # fmt: skip


def _insert(conn, key, note, price, seen, ok) -> None:
    present = columns(conn)
    given = {"id": key, "note": note, "price": price, "seen": seen, "ok": ok}
    given = {c: v for c, v in given.items() if c in present}
    conn.execute(
        sql.SQL("insert into item ({}) values ({}) on conflict (id) do nothing").format(
            sql.SQL(", ").join(map(sql.Identifier, given)),
            sql.SQL(", ").join(sql.Placeholder() * len(given)),
        ),
        list(given.values()),
    )


def _fill(conn, key, value) -> None:
    """Every added column of the row set from one small integer (cast to the column's type)."""
    for name, kind in columns(conn).items():
        if name in ADDED:
            conn.execute(sql.SQL("update item set {} = cast(%s::int as {}) where id = %s").format(
                sql.Identifier(name), sql.SQL(kind)), (value, key))  # fmt: skip


def _play(conn, op: tuple) -> None:
    kind, *args = op
    run = conn.execute
    if kind == "insert":
        _insert(conn, *args)
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
    elif kind == "move":  # to another month, or within one
        run("update item set seen = %s where id = %s", (args[1], args[0]))
    elif kind == "fill":
        _fill(conn, *args)
    elif kind == "delete":
        run("delete from item where id = %s", (args[0],))
    else:
        run("truncate item")


def play(conn, op: tuple) -> None:
    """One operation as the shop's application would run it (a key that is taken is skipped; a
    statement naming a dropped column fails, as the application's would, and changes nothing)."""
    conn.execute("savepoint op")
    try:
        _play(conn, op)
    except psycopg.errors.UndefinedColumn:
        conn.execute("rollback to savepoint op")
    else:
        conn.execute("release savepoint op")


def pg_table(conn) -> tuple[set[str], list[dict]]:
    """PostgreSQL's columns and rows, read by psycopg (the oracle), ordered by key."""
    cursor = conn.execute("select * from item order by id")
    names = [d.name for d in cursor.description]
    return set(names), [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def lake_table(cat, identifier: str) -> tuple[set[str], list[dict]]:
    """The lakehouse's columns and rows, read by PyIceberg, ordered by key (duplicates kept)."""
    table = lakehouse.read(identifier, cat=cat)
    return set(table.column_names), sorted(table.to_pylist(), key=lambda r: r["id"])


class Interrupted(Exception):
    pass


class History(RuleBasedStateMachine):
    conn = cat = data_settings = None  # set by the test below
    source: reconcile.Source | None = None  # one per history (DuckDB's start costs ~0.5 s)

    def teardown(self) -> None:
        if self.source is not None:
            self.source.close()

    def _reload(self, identifier: str, partition_column: str | None = None) -> None:
        incremental.full_reload(self.source, "item", identifier, partition_column)

    @initialize(rows=st.lists(st.tuples(KEYS, TEXT, PRICE, WHEN), max_size=6))
    def fresh(self, rows) -> None:
        conn = self.conn
        cdc.drop(conn, SLOT)
        conn.execute("drop table if exists item")
        conn.execute(TABLE_DDL)
        self.source = reconcile.Source(DATABASE, self.data_settings, cat=self.cat)
        for key, note, price, seen in rows:
            play(conn, ("insert", key, note, price, seen, None))
        conn.commit()
        cdc.start(conn, SLOT, ["item"])
        self.schema_changed = False  # since the slot was started
        for identifier in (CDC, MONTHS):
            if self.cat.table_exists(identifier):
                self.cat.drop_table(identifier)
        load(self.data_settings, self.cat)
        self._reload(MONTHS, "seen")

    @rule(ops=st.lists(OPS, min_size=1, max_size=4), together=st.booleans())
    def change(self, ops, together) -> None:
        for op in ops:
            play(self.conn, op)
            if not together:
                self.conn.commit()
        self.conn.commit()

    def _add(self, name: str, kind: str, default: bool) -> None:
        statement = sql.SQL("alter table item add column {} {}").format(
            sql.Identifier(name), sql.SQL(kind))  # fmt: skip
        if default:  # every row gets it at once: no change of any row is in the log
            statement += sql.SQL(" default {}").format(sql.SQL(DEFAULTS[kind]))
        self.conn.execute(statement)

    @rule(name=st.sampled_from(ADDED),
          kind=st.sampled_from(["integer", "text", "boolean", "numeric(5,1)"]),
          default=st.booleans())  # fmt: skip
    def add_column(self, name, kind, default) -> None:
        if name in columns(self.conn):
            return
        self._add(name, kind, default)
        self.conn.commit()
        self.schema_changed = True

    @rule(name=st.sampled_from(DROPPABLE), default=st.booleans())
    def recreate_column(self, name, default) -> None:
        """A migration drops a column and adds it back, same name, same type, in one commit."""
        kind = columns(self.conn).get(name)
        if kind is None:
            return
        self.conn.execute(sql.SQL("alter table item drop column {}").format(sql.Identifier(name)))
        self._add(name, kind, default)
        self.conn.commit()
        self.schema_changed = True

    @rule(name=st.sampled_from(DROPPABLE))
    def drop_column(self, name) -> None:
        if name not in columns(self.conn):
            return
        self.conn.execute(sql.SQL("alter table item drop column {}").format(sql.Identifier(name)))
        self.conn.commit()
        self.schema_changed = True

    @rule(ops=st.lists(OPS, min_size=1, max_size=3),
          step=st.sampled_from(["peeked", "committed", "advanced"]))  # fmt: skip
    def interrupted_catch_up(self, ops, step) -> None:
        self.change(ops, True)

        def progress(line: str) -> None:
            if line.startswith(step):
                raise Interrupted(line)

        with pytest.raises((Interrupted, cdc.CdcError)) as stopped:
            cdc.catch_up(self.conn, SLOT, self.cat, {"item": (CDC, "id")}, progress)
        if stopped.type is cdc.CdcError:
            self._check_refusal(stopped.value)
        self.conn.rollback()

    def _check_refusal(self, error: cdc.CdcError) -> None:
        """CDC refuses only after a schema change, in one line naming the way out."""
        said = str(error)
        assert self.schema_changed, f"refused without a schema change: {said}"
        assert "\n" not in said and "cdc.start" in said and "reload" in said, said

    def _cdc_catch_up(self) -> None:
        tables = {"item": (CDC, "id")}
        try:
            cdc.catch_up(self.conn, SLOT, self.cat, tables)
        except cdc.CdcError as error:
            self._check_refusal(error)
            cdc.start(self.conn, SLOT, ["item"])  # the way out the refusal names
            self._reload(CDC)
            self.schema_changed = False
            cdc.catch_up(self.conn, SLOT, self.cat, tables)

    def _months_catch_up(self) -> None:
        incremental.replace_changed_months(self.source, "item", MONTHS, "seen")
        left = reconcile.changed_months(self.source, "item", MONTHS, "seen")
        assert left == [], f"digests still differ after the replace: {left}"

    @invariant()
    def lakehouse_equals_postgres(self) -> None:
        if not self.cat.table_exists(CDC):
            return  # before `fresh`
        self._cdc_catch_up()
        self._months_catch_up()
        expected = pg_table(self.conn)
        self.conn.rollback()
        for identifier in (CDC, MONTHS):
            names, rows = lake_table(self.cat, identifier)
            assert names == expected[0], identifier
            assert rows == expected[1], identifier


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Settings]:
    """A data directory and embedded PostgreSQL for this module's tests (a server per test cost
    about 6 s each). Every history begins with `fresh`, which drops and makes again the table,
    the slot and both lakehouse copies: no test sees another's rows."""
    data = tmp_path_factory.mktemp("histories") / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLAYGROUND_DATA_DIR", str(data))
        postgres.start(get_settings(), progress=lambda _line: None)
        try:
            yield get_settings()
        finally:
            postgres.stop(get_settings())


@contextmanager
def _history(data_settings):
    postgres.ensure_database(DATABASE)
    with postgres.connect(DATABASE) as conn:
        conn.execute("set lock_timeout to '20s'")  # a DDL that waits on a reader fails, never hangs
        conn.commit()
        History.conn, History.cat = conn, lakehouse.catalog(data_settings)
        History.data_settings = data_settings
        try:
            yield
        finally:
            conn.rollback()
            cdc.drop(conn, SLOT)


def test_found_a_key_reused_then_moved_across_interrupted_catch_ups(server):
    """A history the machine found against a fold that ignored old keys, kept as it printed it."""
    with _history(server):
        state = History()
        state.fresh(rows=[(10, "9羞þ@i\x9bè", Decimal("19.70"), None),
                          (0, "", Decimal("0.00"), None),
                          (-2, "😍", Decimal("864.89"), None)])  # fmt: skip
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


def test_found_a_column_dropped_with_no_change_after_it(server):
    """A history the machine found: CDC said it had caught up while the lakehouse still held the
    dropped column (no change of a row followed the drop, so the log had nothing to refuse)."""
    with _history(server):
        state = History()
        state.fresh(rows=[])
        state.lakehouse_equals_postgres()
        state.drop_column(name="note")
        state.lakehouse_equals_postgres()
        state.teardown()


def test_found_a_column_recreated_under_its_own_name(server):
    """A history the machine found: a migration dropped `price` and added it back (same name,
    same type, every value now NULL); CDC compared names only and kept the old prices."""
    with _history(server):
        state = History()
        state.fresh(rows=[(-2, "", Decimal("2.17"), datetime(2194, 10, 3, 5, 58, 59, tzinfo=UTC))])
        state.lakehouse_equals_postgres()
        state.recreate_column(default=False, name="price")
        state.lakehouse_equals_postgres()
        state.teardown()


def test_the_partition_column_dropped_is_refused_in_one_line(server):
    """The machine never drops `seen`: the monthly copy cannot follow, and says so."""
    with _history(server):
        state = History()
        state.fresh(rows=[(1, "a", Decimal("1.00"), datetime(2024, 2, 29, 23, 30, tzinfo=UTC))])
        state.conn.execute("alter table item drop column seen")
        state.conn.commit()
        with pytest.raises(ExtractError) as refused:
            state._months_catch_up()
        assert str(refused.value) == (
            "--partition-by: the source has no column 'seen'; partition by one of its date or "
            "timestamp columns (it has none), or by none."
        )
        assert [r["seen"] for r in lakehouse.read(MONTHS, cat=state.cat).to_pylist()] == [
            datetime(2024, 2, 29, 23, 30, tzinfo=UTC)
        ]  # the copy is left as it was
        state.teardown()


def _run(
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


def test_generated_histories_keep_the_lakehouse_equal(server) -> None:
    """A failure shows its history unshrunk (shrinking can take minutes): `-m slow` shrinks."""
    # the suite plays the same histories every run (a red run names a bug, never bad luck);
    # `CDC_EXAMPLES=N` and `-m slow` search new ones
    examples = os.environ.get("CDC_EXAMPLES")
    _run(server, int(examples or 8), 8, shrink=False, derandomize=not examples)


@pytest.mark.slow
def test_longer_generated_histories_keep_the_lakehouse_equal(request) -> None:
    """Minutes: runs only when asked for, with `-m slow`."""
    if request.config.option.markexpr.strip() != "slow":
        pytest.skip("the longer search runs with `pytest -m slow`")
    _run(request.getfixturevalue("server"), 60, 15, shrink=True)
