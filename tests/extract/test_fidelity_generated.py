"""Generated tables of every supported type, edge values included, through every method.

Hypothesis draws a table (odd column names, 1-6 rows of NaN, ±infinity, BC dates, the extremes of
each type, unicode, NULLs), PostgreSQL stores it, and each method extracts it. The oracle is
PostgreSQL read by psycopg: a row psycopg cannot load into Python (a date outside years 1-9999,
time 24:00) or holding a numeric NaN must make the run fail naming the first such row's id and
column; otherwise the lakehouse must hold exactly the rows PostgreSQL returns.

Bounded for the suite (derandomized: the same 15 examples each run); FIDELITY_EXAMPLES=200 runs
200 random ones (a deeper run, minutes).
"""

import math
import os
import uuid
from datetime import UTC, timedelta, timezone
from decimal import Decimal

import psycopg
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.types.json import Jsonb

from playground import extract, lakehouse
from playground.services import postgres

pytestmark = pytest.mark.slow

SOURCE_DB = "extract_generated"
# the suite: 15 examples, the same every run (~25 s); FIDELITY_EXAMPLES=N: N random ones
EXAMPLES = int(os.environ.get("FIDELITY_EXAMPLES", "15"))
DERANDOMIZE = "FIDELITY_EXAMPLES" not in os.environ

ODD_TEXT = ["", " ", "Zoë", "👩‍👩‍👧 emoji", "שלום עולם", "مرحبا", "\u200fRTL mark", "e\u0301",
            "quote'\"\\", "tab\tnew\nline\r", "\ufeffbom", "NaN", "NULL", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"]  # fmt: skip
texts = st.one_of(
    st.sampled_from(ODD_TEXT),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12),
)
ZONES = [UTC, timezone(timedelta(hours=5, minutes=45)), timezone(timedelta(hours=-12)),
         timezone(timedelta(hours=14))]  # fmt: skip
BAD_DATES = ["infinity", "-infinity", "0044-03-15 BC", "4713-01-01 BC", "10000-01-01"]
BAD_STAMPS = ["infinity", "-infinity", "0001-12-31 23:59:59.999999 BC", "10000-01-01 00:00"]
BAD_ZONED = ["infinity", "-infinity", "0001-01-01 00:30+01", "9999-12-31 23:30-01"]


def _floats(width: int):
    return st.floats(width=width, allow_nan=True, allow_infinity=True)


def _decimals(precision: int, scale: int):
    # exact (Decimal arithmetic would round 38 digits to the context's 28)
    bound = Decimal(f"{10**precision - 1}E-{scale}")
    low = bound.copy_negate()
    finite = st.decimals(low, bound, places=scale, allow_nan=False, allow_infinity=False)
    return st.one_of(finite, st.sampled_from([bound, low, Decimal("NaN")]))


# (PostgreSQL type, values as psycopg parameters, how the expected value is selected)
TYPES = {
    "smallint": (st.integers(-(2**15), 2**15 - 1), "{}"),
    "integer": (st.integers(-(2**31), 2**31 - 1), "{}"),
    "bigint": (st.integers(-(2**63), 2**63 - 1), "{}"),
    "real": (_floats(32), "{}::float8"),  # exact; psycopg reads real's shortest text form
    "double precision": (_floats(64), "{}"),
    "numeric(7,2)": (_decimals(7, 2), "{}"),
    "numeric(38,0)": (_decimals(38, 0), "{}"),
    "text": (texts, "{}"),
    "varchar(8)": (texts.map(lambda s: s[:8]), "{}"),
    "char(4)": (texts.map(lambda s: s[:4]), "{}::text"),
    "boolean": (st.booleans(), "{}"),
    "date": (st.one_of(st.dates(), st.sampled_from(BAD_DATES)), "{}"),
    "time": (st.one_of(st.times(), st.just("24:00:00")), "{}"),
    "timestamp": (st.one_of(st.datetimes(), st.sampled_from(BAD_STAMPS)), "{}"),
    "timestamptz": (
        st.one_of(st.datetimes(timezones=st.sampled_from(ZONES)), st.sampled_from(BAD_ZONED)),
        "{}",
    ),
    "bytea": (st.binary(max_size=16), "{}"),
    "uuid": (st.uuids().map(str), "{}::text"),
    "jsonb": (st.dictionaries(texts, st.integers() | texts, max_size=3).map(Jsonb), "{}::text"),
    "mood": (st.sampled_from(["sad", "ok", "ünïcødé 😀"]), "{}::text"),
    "text[]": (st.lists(st.none() | texts, max_size=3), "{}"),
    "integer[]": (st.lists(st.none() | st.integers(-(2**31), 2**31 - 1), max_size=3), "{}"),
    "double precision[]": (st.lists(st.none() | _floats(64), max_size=3), "{}"),
    "date[]": (st.lists(st.dates().map(str) | st.sampled_from(BAD_DATES), max_size=2), "{}"),
}
NAMES = ["c", "Zoë", "with space", 'quo"te', "__month", "select", "مرحبا", "😀", "A"]


@st.composite
def tables(draw):
    """(column names, PostgreSQL types, rows as lists of parameters)."""
    kinds = draw(st.lists(st.sampled_from(sorted(TYPES)), min_size=1, max_size=5))
    names = [f"{draw(st.sampled_from(NAMES))}_{i}" for i in range(len(kinds))]
    rows = draw(
        st.lists(
            st.tuples(*(st.none() | TYPES[kind][0] for kind in kinds)).map(list),
            min_size=1,
            max_size=6,
        )
    )
    return names, kinds, rows


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> str:
    postgres.ensure_database(SOURCE_DB)
    with postgres.connect(SOURCE_DB, autocommit=True) as conn:
        conn.execute("drop type if exists mood cascade; create type mood as enum "
                     "('sad', 'ok', 'ünïcødé 😀')")  # fmt: skip
    return postgres.url(SOURCE_DB)


def _store(url: str, names, kinds, rows) -> None:
    columns = [sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(k))
               for n, k in zip(names, kinds, strict=True)]  # fmt: skip
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop table if exists generated")
        conn.execute(sql.SQL("create table generated (id integer primary key, {})").format(
            sql.SQL(", ").join(columns)))  # fmt: skip
        placeholders = sql.SQL(", ").join(
            sql.SQL("%s::{}").format(sql.SQL(k)) for k in ["integer", *kinds]
        )
        insert = sql.SQL("insert into generated values ({})").format(placeholders)
        for i, row in enumerate(rows):
            conn.execute(insert, [(i * 7) % 11, *row])  # ids out of order, stored unsorted


def _oracle(url: str, names, kinds) -> tuple[list[dict], tuple | None]:
    """(rows as psycopg loads them, (id, column) of the first value the lakehouse cannot hold)."""
    pairs = zip(names, kinds, strict=True)
    selects = [sql.SQL(TYPES[k][1]).format(sql.Identifier(n)) for n, k in pairs]
    expected, first_bad = [], None
    with psycopg.connect(url) as conn:
        ids = [i for (i,) in conn.execute("select id from generated order by id")]
        for key in ids:
            row = {"id": key}
            for name, select in zip(names, selects, strict=True):
                query = sql.SQL("select {} from generated where id = %s").format(select)
                try:
                    (value,) = conn.execute(query, [key]).fetchone()
                except psycopg.DataError:  # Python has no such date, time or timestamp
                    conn.rollback()
                    first_bad = first_bad or (key, name)
                    continue
                if isinstance(value, Decimal) and value.is_nan():
                    first_bad = first_bad or (key, name)
                row[name] = bytes(value) if isinstance(value, memoryview) else value
            expected.append(row)
    return expected, first_bad


def _same(got, expected) -> bool:
    """Equal values of the same type; NaN equals NaN, and -0.0 is not 0.0."""
    if isinstance(got, float) and isinstance(expected, float):
        if math.isnan(got) or math.isnan(expected):
            return math.isnan(got) and math.isnan(expected)
        return got == expected and math.copysign(1, got) == math.copysign(1, expected)
    if isinstance(got, list) and isinstance(expected, list):
        return len(got) == len(expected) and all(map(_same, got, expected))
    return type(got) is type(expected) and got == expected


def _check(url: str, table) -> None:
    names, kinds, rows = table
    _store(url, names, kinds, rows)
    expected, first_bad = _oracle(url, names, kinds)
    event("refused" if first_bad else f"round trip of {len(rows)} row(s)")
    schemas = set()
    for method in extract.METHODS:
        target = f"gen.t_{uuid.uuid4().hex[:12]}"
        run = dict(table="generated", source=url, method=method, progress=lambda _line: None)
        if first_bad is not None:
            with pytest.raises(extract.ExtractError) as refused:
                extract.extract(target, **run)
            key, column = first_bad
            assert f"generated.{column} holds " in str(refused.value), (method, refused.value)
            assert f" at id={key}," in str(refused.value), (method, refused.value)
            assert not lakehouse.catalog().table_exists(target)
            continue
        extract.extract(target, **run)
        read_back = lakehouse.read(target)
        schemas.add(read_back.schema)
        assert len(schemas) == 1, (method, schemas)  # every method: the same table
        got = sorted(read_back.to_pylist(), key=lambda row: row["id"])
        assert len(got) == len(expected), method
        for row, want in zip(got, expected, strict=True):
            for name, value in want.items():
                assert _same(row[name], value), (method, name, row[name], value)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path_factory.mktemp("generated") / "data"))
        yield


@settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(table=tables())
@example(table=(["c_1"], ["real"], [[71515512.0]]))  # a float32 its shortest text does not give
@example(table=(["c_0"], ["time"], [[None], [None], ["24:00:00"], ["24:00:00"]]))  # ids 3, 10
@example(table=(["c_0"], ["numeric(38,0)"], [[Decimal("9" * 38)], [Decimal("-" + "9" * 38)]]))
@example(
    table=(
        ["c_0", "c_1", "c_2"],
        ["timestamptz", "numeric(7,2)", "timestamp"],
        [[None, None, None], [None, None, None], [None, Decimal("NaN"), None],
         ["infinity", None, "0001-12-31 23:59:59.999999 BC"]],
    )
)  # the first key is 3 (c_1), not 10 (c_0): keys compare as numbers, not text  # fmt: skip
def test_generated_tables_round_trip_or_are_refused(source, data_dir, table) -> None:
    _check(source, table)
