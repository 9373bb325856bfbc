"""Does a lakehouse table still hold what its PostgreSQL table holds? Two answers, one cheap.

- `compare` / `changed_months`: a *digest* per month (the row count and the sum, modulo 2**64,
  of a 64-bit hash of each row's canonical text: `playground.extract.canonical`) computed by
  PostgreSQL over its table and by DuckDB over the Iceberg table; the months whose digests
  differ changed since the load. Any changed value changes its row's hash: a swap of two
  amounts, a +x/-x pair, an email edited to one of the same length, a flipped boolean, a date
  moved within its month. Columns added, dropped or retyped in PostgreSQL are differences of the
  whole table. The pagila sensor uses it to pick the partitions to replace.
- `differences`: the rows themselves, compared in DuckDB both ways (`EXCEPT ALL`): how many
  PostgreSQL rows the lakehouse lacks, and how many lakehouse rows PostgreSQL does not have.

Both read PostgreSQL in UTC, with the columns and types `playground.extract.pgtypes` maps.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import psycopg
import pyarrow as pa

from playground.config.names import quote
from playground.config.settings import Settings, get_settings
from playground.engines import duck
from playground.extract import canonical, pgtypes
from playground.lakehouse.tables import catalog, register_duckdb_view
from playground.services import postgres

WHOLE_TABLE = "whole table"  # the one "month" of a table digested without a date column
NO_MONTH = "no month"  # rows whose date is NULL or infinite
_EPOCH = datetime(1970, 1, 1)


class Source:
    """A DuckDB connection with a PostgreSQL database attached (as `pg`, read-only) and the
    lakehouse's tables registered as views on demand."""

    def __init__(self, database: str, settings: Settings | None = None, cat=None) -> None:
        self.database = database
        self.settings = settings or get_settings()
        self.cat = cat or catalog(self.settings)
        self.con: duckdb.DuckDBPyConnection = duck.connect(settings=self.settings)
        dsn = postgres.libpq_dsn(database, self.settings)
        duck.attach_postgres(self.con, dsn, "pg", self.settings)

    def rows(self, table: str, newer: tuple[str, object] | None = None) -> pa.Table:
        """The PostgreSQL table's rows; `newer=(column, value)`: only those past `value`."""
        sql = f"select * from pg.public.{quote(table)}"  # noqa: S608 - a quoted name
        if newer is None:
            return self.con.execute(sql).arrow().read_all()
        column, value = newer
        return self.con.execute(f"{sql} where {quote(column)} > ?", [value]).arrow().read_all()

    def view(self, identifier: str) -> str:
        """A view of the Iceberg table as it is now; its name."""
        view = "lake_" + identifier.replace(".", "_")
        return register_duckdb_view(self.con, identifier, view, cat=self.cat)

    def close(self) -> None:
        self.con.close()


def _kind(kind: pa.DataType) -> str:
    """An Arrow type as both sides name it (Iceberg reads back large strings, lists, any tz)."""
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return f"list<{_kind(kind.value_type)}>"
    if pa.types.is_large_string(kind):
        return "string"
    if pa.types.is_large_binary(kind):
        return "binary"
    if pa.types.is_timestamp(kind):
        return f"timestamp[{kind.unit}, {'tz' if kind.tz else 'naive'}]"
    return str(kind)


@contextmanager
def _connection(source: Source, conn: psycopg.Connection | None) -> Iterator[psycopg.Connection]:
    if conn is not None:
        yield conn
        return
    with postgres.connect(source.database, source.settings) as own:
        yield own


@contextmanager
def snapshot(source: Source) -> Iterator[psycopg.Connection]:
    """A connection reading one state of PostgreSQL (REPEATABLE READ) for many comparisons: a
    change committed meanwhile is seen in every table or in none."""
    with postgres.connect(source.database, source.settings) as conn:
        conn.execute("begin isolation level repeatable read read only")
        try:
            yield conn
        finally:
            conn.rollback()


def source_columns(
    source: Source, table: str, conn: psycopg.Connection | None = None
) -> list[pgtypes.Column]:
    """The PostgreSQL table's columns with the types the lakehouse holds them in."""
    with _connection(source, conn) as conn:
        return pgtypes.describe(conn, f"select * from public.{quote(table)}", f"public.{table}")  # noqa: S608


def schema_differences(columns: list[pgtypes.Column], lake: pa.Schema) -> list[str]:
    """What differs between PostgreSQL's columns and the lakehouse table's, in words."""
    ours = {f.name: _kind(f.type) for f in lake}
    theirs = {c.name: _kind(c.arrow) for c in columns}
    found = [f"{n} added in PostgreSQL" for n in theirs if n not in ours]
    found += [f"{n} dropped in PostgreSQL" for n in ours if n not in theirs]
    found += [f"{n} is {theirs[n]}, the lakehouse holds {ours[n]}"
              for n in theirs if n in ours and theirs[n] != ours[n]]  # fmt: skip
    return found


def _month(column: pgtypes.Column | None, dialect: str) -> str:
    """SQL for the UTC month of the row as the epoch seconds of its first instant (or NULL)."""
    if column is None:
        return "0"
    name = quote(column.name)
    value = name
    if pa.types.is_date(column.arrow):
        value = f"{name}::timestamp"
    elif column.arrow == pa.timestamp("us", tz="UTC"):
        value = f"({name} at time zone 'UTC')"
    start = f"date_trunc('month', {value})"
    seconds = f"extract(epoch from {start})" if dialect == canonical.POSTGRES else f"epoch({start})"
    return f"(case when isfinite({name}) then ({seconds})::bigint end)"


def _label(seconds: int | None, partitioned: bool) -> str:
    if not partitioned:
        return WHOLE_TABLE
    if seconds is None:
        return NO_MONTH
    try:
        first = _EPOCH + timedelta(seconds=int(seconds))
    except OverflowError:  # before year 1 or after 9999: not a month of any partition
        return f"@{seconds}"
    return f"{first.year:04d}-{first.month:02d}"


def _digest_sql(columns, month_column, relation: str, dialect: str) -> str:
    month = _month(month_column, dialect)
    hashed = canonical.row_hash(columns, dialect)
    # every name is quoted; the rest is fixed SQL around them
    return f"select {month}, count(*), sum({hashed}) from {relation} group by 1"  # noqa: S608


def _digests(rows, partitioned: bool) -> dict[str, tuple[int, int]]:
    return {_label(m, partitioned): (int(n), int(s or 0) % 2**64) for m, n, s in rows}


@dataclass(frozen=True)
class Comparison:
    """One table compared: PostgreSQL's digest per month, the months that differ, and how."""

    postgres: dict[str, tuple[int, int]]  # month → (rows, hash sum mod 2**64)
    months: list[str]  # the months that differ; [WHOLE_TABLE] when the table differs as a whole
    schema: list[str] = field(default_factory=list)  # column differences, in words


def compare(
    source: Source,
    table: str,
    identifier: str,
    column: str | None = None,
    conn: psycopg.Connection | None = None,
) -> Comparison:
    """PostgreSQL's `table` against the Iceberg table `identifier`, per month of `column`.

    A table without `column` has one month, `WHOLE_TABLE`. Differing columns, a missing
    lakehouse table, or differing rows whose date is NULL or infinite make the answer
    `[WHOLE_TABLE]`: only a whole reload repairs those. `conn`: read PostgreSQL through it (a
    `snapshot`), else through a connection of its own.
    """
    columns = source_columns(source, table, conn)
    by_name = {c.name: c for c in columns}
    month_column = by_name.get(column) if column else None
    with _connection(source, conn) as conn:
        pg_sql = _digest_sql(columns, month_column, f"public.{quote(table)}", canonical.POSTGRES)
        theirs = _digests(conn.execute(pg_sql).fetchall(), column is not None)
    if not source.cat.table_exists(identifier):
        return Comparison(theirs, [WHOLE_TABLE], ["the lakehouse has no such table"])
    schema = schema_differences(columns, source.cat.load_table(identifier).schema().as_arrow())
    if schema or (column and month_column is None):
        return Comparison(theirs, [WHOLE_TABLE], schema or [f"{column} dropped in PostgreSQL"])
    view = quote(source.view(identifier))
    lake_sql = _digest_sql(columns, month_column, view, canonical.DUCKDB)
    ours = _digests(source.con.execute(lake_sql).fetchall(), column is not None)
    months = sorted(m for m in set(theirs) | set(ours) if theirs.get(m) != ours.get(m))
    if any(m == NO_MONTH or m.startswith("@") for m in months):
        months = [WHOLE_TABLE]
    return Comparison(theirs, months)


def changed_months(
    source: Source, table: str, identifier: str, column: str | None = None
) -> list[str]:
    """The months (`YYYY-MM`; `WHOLE_TABLE` without `column`) whose digests differ.

    `[WHOLE_TABLE]` also when the columns differ or rows without a month (a NULL date) differ.
    """
    return compare(source, table, identifier, column).months


@dataclass(frozen=True)
class Differences:
    missing: int  # PostgreSQL rows the lakehouse lacks
    extra: int  # lakehouse rows PostgreSQL does not have (stale versions, deleted rows)
    schema: tuple[str, ...] = ()  # column differences (rows are compared on the shared columns)

    @property
    def equal(self) -> bool:
        return self.missing == 0 and self.extra == 0 and not self.schema

    def __str__(self) -> str:
        if self.equal:
            return "equal, row by row"
        said = [f"{self.missing:,} rows missing, {self.extra:,} rows PostgreSQL no longer has"]
        return "; ".join(said + list(self.schema))


def differences(source: Source, table: str, identifier: str) -> Differences:
    """Compare every row of the lakehouse table with PostgreSQL's, both ways (`EXCEPT ALL`), on
    the columns both have; columns only one side has are named in `schema`."""
    view = source.view(identifier)
    columns = source_columns(source, table)
    lake = source.cat.load_table(identifier).schema().as_arrow()
    shared = [c.name for c in columns if c.name in lake.names]
    names = ", ".join(quote(n) for n in shared)
    pg = f"select {names} from pg.public.{quote(table)}"  # noqa: S608 - quoted names only
    ours = f"select {names} from {quote(view)}"  # noqa: S608 - quoted names only
    count = "select count(*) from ({} except all {})"
    missing = source.con.execute(count.format(pg, ours)).fetchone()[0]
    extra = source.con.execute(count.format(ours, pg)).fetchone()[0]
    return Differences(missing, extra, tuple(schema_differences(columns, lake)))
