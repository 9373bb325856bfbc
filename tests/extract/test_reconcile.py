"""Reconciliation against the suite's embedded PostgreSQL: a database and a namespace per module.

Generated rows (Hypothesis) are extracted into Iceberg for real; PostgreSQL and DuckDB then write
every row's canonical text, which must be identical, and a changed value must change its month's
digest. On pagila, the changes a count-and-sums fingerprint missed are each applied, seen, and
repaired; added and dropped columns are differences, never a crash.
"""

from __future__ import annotations

import math
import os
import struct
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from playground.config.names import quote
from playground.datasets.pagila import keys, seed
from playground.extract import api, canonical, incremental, reconcile
from playground.services import postgres

DATABASE = f"reconcile_{os.getpid()}"
NAMESPACE = f"reconcile_{os.getpid()}"
COLUMNS = (
    "id int primary key, i2 smallint, i8 bigint, f4 real, f8 double precision, "
    "n numeric(12,3), t text, c char(4), b boolean, d date, tm time, ts timestamp, "
    "tz timestamptz not null, by bytea, arr text[], u uuid"
)
MICROS_A_DAY = 86_400_000_000
# days from 1970 (PostgreSQL adds them): the years 1 to 9999, all the lakehouse holds (the
# extract refuses a BC date, and says so)
DAYS = st.integers(-719_162, 2_932_896)
INSERT = (
    "insert into {t} values (%s, %s, %s, %s, %s, %s, %s, %s, %s, date '1970-01-01' + %s::int, "
    "time '00:00' + %s::bigint * interval '1 microsecond', "
    "timestamp '1970-01-01' + %s::bigint * interval '1 microsecond', "
    "timestamptz '1970-01-01 00:00+00' + %s::bigint * interval '1 microsecond', %s, %s, %s)"
)
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
ROW = st.tuples(
    st.none() | st.integers(-(2**15), 2**15 - 1),
    st.none() | st.integers(-(2**63), 2**63 - 1),
    st.none() | st.floats(width=32),
    st.none() | st.floats(),
    st.none() | st.decimals(-(10**9) + 1, 10**9 - 1, places=3, allow_nan=False),
    st.none() | TEXT,
    st.none() | st.text("ab é", max_size=4),
    st.none() | st.booleans(),
    st.none() | DAYS,
    st.none() | st.integers(0, MICROS_A_DAY - 1),
    st.none() | DAYS.map(lambda d: d * MICROS_A_DAY),
    st.integers(-62_135_596_800_000, 253_402_300_799_000).map(lambda d: d * 1000),  # to the ms
    st.none() | st.binary(max_size=6),
    st.none() | st.lists(st.none() | TEXT, max_size=3),
    st.none() | st.uuids().map(str),
)


@pytest.fixture(scope="module")
def database():
    postgres.ensure_database(DATABASE)
    yield DATABASE
    postgres.drop_database(DATABASE)


@pytest.fixture(scope="module")
def source(database):
    found = reconcile.Source(database)
    found.cat.create_namespace_if_not_exists(NAMESPACE)
    yield found
    for table in found.cat.list_tables(NAMESPACE):
        found.cat.drop_table(table)
    found.cat.drop_namespace(NAMESPACE)
    found.close()


def _load(source, table: str, rows: list[tuple]) -> str:
    with postgres.connect(source.database) as conn:
        conn.execute(f"drop table if exists {table}")
        conn.execute(f"create table {table} ({COLUMNS})")
        for number, row in enumerate(rows):
            conn.execute(INSERT.format(t=table), (number, *row))
    identifier = f"{NAMESPACE}.{table}"
    api.extract(identifier, table=f"public.{table}", source=postgres.url(source.database),
                partition_by="tz:month", mode="replace", cat=source.cat,
                progress=lambda _line: None)  # fmt: skip
    return identifier


def _texts(source, table: str, identifier: str) -> tuple[dict, dict]:
    columns = reconcile.source_columns(source, table)
    with postgres.connect(source.database) as conn:
        pg = conn.execute(f"select id, {canonical.row_text(columns, canonical.POSTGRES)} "  # noqa: S608
                          f"from {table}").fetchall()  # fmt: skip
    view = quote(source.view(identifier))
    lake = source.con.execute(f"select id, {canonical.row_text(columns, canonical.DUCKDB)} "  # noqa: S608
                              f"from {view}").fetchall()  # fmt: skip
    return dict(pg), dict(lake)


# no shrinking: each example extracts a table (a failure shows its rows, unshrunk, in seconds)
@settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(ROW, min_size=1, max_size=8), data=st.data())
def test_equal_rows_give_equal_text_in_both_engines_and_a_change_is_seen(
    source, rows, data
) -> None:
    identifier = _load(source, "generated", rows)
    pg, lake = _texts(source, "generated", identifier)
    assert len(pg) == len(rows)
    assert pg == lake
    assert reconcile.changed_months(source, "generated", identifier, "tz") == []
    # change one value of one row to another value (NaN payloads and -0.0 vs 0.0 aside, see below)
    row, column = data.draw(st.integers(0, len(rows) - 1)), data.draw(st.integers(0, 13))
    old = rows[row][column]
    new = data.draw(ROW)[column]
    assume_different(old, new, column)
    changed = list(rows[row])
    changed[column] = new
    name = ["i2", "i8", "f4", "f8", "n", "t", "c", "b", "d", "tm", "ts", "tz", "by", "arr"][column]
    with postgres.connect(source.database) as conn:
        conn.execute("delete from generated where id = %s", (row,))
        conn.execute(INSERT.format(t="generated"), (row, *changed))
    months = reconcile.changed_months(source, "generated", identifier, "tz")
    assert months, f"{name}: {old!r} → {new!r} not seen"


@pytest.mark.parametrize(("old", "new"), [(None, []), ([], None), ([None], []), ([None], None)])
def test_a_null_list_and_an_empty_one_differ(source, old, new) -> None:
    """Found by the generated test above: a NULL list and an empty one had the same text."""
    row = (None,) * 11 + (0, None, old, None)
    identifier = _load(source, "lists", [row])
    assert reconcile.changed_months(source, "lists", identifier, "tz") == []
    with postgres.connect(source.database) as conn:
        conn.execute("update lists set arr = %s::text[] where id = 0", (new,))
        stored = conn.execute("select arr from lists").fetchone()[0]
    assert stored == new  # PostgreSQL holds what the test wrote
    assert reconcile.changed_months(source, "lists", identifier, "tz") == ["1970-01"]


def assume_different(old, new, column: int) -> None:
    """Skip a draw whose new value the lakehouse holds the same as the old one."""
    if isinstance(old, float) and isinstance(new, float):
        assume(not (math.isnan(old) and math.isnan(new)))  # PostgreSQL has one NaN
        assume(struct.pack("d", old) != struct.pack("d", new))  # -0.0 and 0.0 differ
        return
    if column == 6 and old is not None and new is not None:  # char(4): blanks pad the value
        assume(old.rstrip(" ") != new.rstrip(" "))
    assume(old != new)


def test_digests_agree_on_values_chosen_to_be_awkward(source) -> None:
    """The values a learner's data has and a text form gets wrong: NaN, ±infinity, -0.0, 1e15
    (PostgreSQL writes 1e+15, DuckDB 1000000000000000.0), -2.500249196437377e16 (PostgreSQL writes
    its 17 digits, DuckDB the 16 that round-trip), the years 1 and 9999, NULL and ''."""
    rows = []
    for value in (math.nan, math.inf, -math.inf, -0.0, 0.0, 1e15, -2.500249196437377e16, 5e-324):
        single = struct.unpack("f", struct.pack("f", value))[0]
        rows.append((1, 2, single, value, Decimal("-0.500"), "", "", True, -719_162, 0,
                     2_932_896 * MICROS_A_DAY, -62_135_596_800_000_000, b"", [], None))  # fmt: skip
    rows.append((None,) * 11 + (0, None, [None, ""], None))
    identifier = _load(source, "awkward", rows)
    pg, lake = _texts(source, "awkward", identifier)
    assert pg == lake
    assert pg[len(rows) - 1].split(",")[1:3] == ["-", "-"]  # NULL is "-", "" is "0:"
    assert "0:" in pg[0] and "3:nan," in pg[0] and f"64:{0x7FF << 52:064b}," in pg[1]
    assert f"64:{1 << 63:064b}," in pg[3]  # -0.0: the sign bit alone


@pytest.fixture(scope="module")
def pagila(database):
    seed.seed(0.05, 7, database=DATABASE + "_pagila", force=True, progress=lambda _line: None)
    found = reconcile.Source(DATABASE + "_pagila")
    found.cat.create_namespace_if_not_exists(NAMESPACE + "_pagila")
    yield found
    for table in found.cat.list_tables(NAMESPACE + "_pagila"):
        found.cat.drop_table(table)
    found.cat.drop_namespace(NAMESPACE + "_pagila")
    found.close()
    postgres.drop_database(DATABASE + "_pagila")


def _loaded(pagila, table: str, column: str | None) -> str:
    identifier = f"{NAMESPACE}_pagila.{table}"
    incremental.full_reload(pagila, table, identifier, column)
    return identifier


MARCH = "payment_date >= '2022-03-01+00' and payment_date < '2022-04-01+00'"
APRIL = "payment_date >= '2022-04-01+00' and payment_date < '2022-05-01+00'"
# Each edit leaves a month's row count, sums and text lengths as they were; (table, SQL, month).
EDITS = {
    "amounts swapped": (
        "payment",
        f"""with a as (select payment_id, amount from payment
        where {MARCH} order by payment_id limit 1), b as (select payment_id, amount from payment
        where {MARCH} and amount <> (select amount from a) order by payment_id limit 1),
        two as (select * from a union all select * from b)
        update payment p set amount = (select sum(amount) from two) - p.amount
        from two where p.payment_id = two.payment_id""",
        "2022-03",
    ),
    "+x/-x pair": (
        "payment",
        f"""with two as (select payment_id from payment where {APRIL}
        and amount >= 1 order by payment_id limit 2) update payment set amount = amount + case
        when payment_id = (select min(payment_id) from two) then 1 else -1 end
        where payment_id in (select payment_id from two)""",
        "2022-04",
    ),
    "email of the same length": (
        "customer",
        """update customer set email =
        translate(email, 'AEIOUaeiou', 'EIOUAeioua') where customer_id = 1""",
        reconcile.WHOLE_TABLE,
    ),
    "boolean flipped": (
        "customer",
        """update customer set activebool = not activebool
        where customer_id = 2""",
        reconcile.WHOLE_TABLE,
    ),
    "dates moved within their month": (
        "rental",
        """update rental set rental_date = rental_date
        + case when rental_id % 2 = 0 then interval '1 hour' else interval '-1 hour' end
        where rental_id in (select min(rental_id) from rental where rental_date >= '2022-05-02+00'
        and rental_date < '2022-05-30+00' group by rental_id % 2)""",
        "2022-05",
    ),
}


@pytest.mark.parametrize("edit", EDITS)
def test_an_edit_a_fingerprint_misses_is_seen_and_repaired(pagila, edit) -> None:
    table, sql, month = EDITS[edit]
    column = keys.PARTITION_COLUMNS.get(table)
    identifier = _loaded(pagila, table, column)
    assert reconcile.changed_months(pagila, table, identifier, column) == []
    with postgres.connect(pagila.database) as conn:
        assert conn.execute(sql).rowcount >= 1
    assert reconcile.changed_months(pagila, table, identifier, column) == [month]
    assert not reconcile.differences(pagila, table, identifier).equal
    read, replaced = incremental.replace_changed_months(pagila, table, identifier, column)
    assert replaced == [month] and read > 0
    assert reconcile.changed_months(pagila, table, identifier, column) == []
    assert reconcile.differences(pagila, table, identifier).equal


@pytest.mark.parametrize("change", ["add column note text default 'x'", "drop column {dropped}"])
def test_a_column_added_or_dropped_is_a_difference_of_the_whole_table(pagila, change) -> None:
    for table, dropped in (("customer", "email"), ("payment", "staff_id")):
        copy = f"{table}_{len(change)}"  # a copy of its own: the other tests keep their columns
        with postgres.connect(pagila.database) as conn:
            conn.execute(f"drop table if exists {copy}")
            conn.execute(f"create table {copy} as table {table}")
        column = keys.PARTITION_COLUMNS.get(table)
        identifier = _loaded(pagila, copy, column)
        compared = reconcile.compare(pagila, copy, identifier, column)
        assert compared.months == [] and compared.schema == []
        with postgres.connect(pagila.database) as conn:
            conn.execute(f"alter table {copy} {change.format(dropped=dropped)}")
        compared = reconcile.compare(pagila, copy, identifier, column)
        assert compared.months == [reconcile.WHOLE_TABLE]
        assert compared.schema == [f"{'note added' if 'add' in change else dropped + ' dropped'}"
                                   " in PostgreSQL"]  # fmt: skip
        assert not reconcile.differences(pagila, copy, identifier).equal
        incremental.replace_changed_months(pagila, copy, identifier, column)
        assert reconcile.changed_months(pagila, copy, identifier, column) == []
        assert reconcile.differences(pagila, copy, identifier).equal
