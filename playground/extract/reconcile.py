"""Does a lakehouse table still hold what its PostgreSQL table holds? Two answers, one cheap.

- `changed_months`: a *fingerprint* per month (row count, sums of the numbers and of the
  timestamps' epoch seconds, total text length, non-null counts) computed by PostgreSQL and by
  DuckDB over the Iceberg table; the months whose fingerprints differ changed since the load.
  Inserts, deletes and updates all move a fingerprint (an update that changes a text for another
  of the same length, and no timestamp, would not: pagila's updates all set `last_update`).
  The pagila sensor uses it to pick the partitions to replace.
- `differences`: the rows themselves, compared in DuckDB both ways (`EXCEPT ALL`): how many
  PostgreSQL rows the lakehouse lacks, and how many lakehouse rows PostgreSQL does not have.

Both read PostgreSQL through DuckDB's postgres extension (`Source`), in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from playground.config.names import quote
from playground.config.settings import Settings, get_settings
from playground.engines import duck
from playground.lakehouse.tables import catalog, register_duckdb_view
from playground.services import postgres

WHOLE_TABLE = "whole table"  # the one "month" of a table fingerprinted without a date column


class Source:
    """A DuckDB connection with a PostgreSQL database attached (as `pg`, read-only) and the
    lakehouse's tables registered as views on demand."""

    def __init__(self, database: str, settings: Settings | None = None, cat=None) -> None:
        self.database = database
        self.settings = settings or get_settings()
        self.cat = cat or catalog(self.settings)
        self.con: duckdb.DuckDBPyConnection = duck.connect(settings=self.settings)
        dsn = postgres.libpq_dsn(database, self.settings)
        self.con.execute(f"ATTACH {duck.literal(dsn)} AS pg (TYPE postgres, READ_ONLY)")

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


def _aggregates(schema: pa.Schema, dialect: str) -> list[str]:
    """One aggregate per column, the same number in PostgreSQL and DuckDB."""
    parts = ["count(*)"]
    for field in schema:
        c, kind = quote(field.name), field.type
        if pa.types.is_integer(kind) or pa.types.is_decimal(kind):
            parts.append(f"coalesce(sum({c}), 0)")
        elif pa.types.is_timestamp(kind):
            epoch = f"extract(epoch from {c})" if dialect == "postgres" else f"epoch({c})"
            parts.append(f"coalesce(sum(floor({epoch})::bigint), 0)")
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            text = f"{c}::text" if dialect == "postgres" else f"{c}::varchar"  # enums too
            parts.append(f"coalesce(sum(length({text})), 0)")
        else:
            parts.append(f"count({c})")
    return parts


def _normal(row: tuple) -> tuple:
    return tuple(int(v) if v == int(v) else v for v in row)


def fingerprints(
    source: Source, table: str, identifier: str, column: str | None = None
) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """(PostgreSQL's, the lakehouse's) fingerprint per month of `column` (or of the whole table).

    The columns fingerprinted are the lakehouse table's (PostgreSQL may have gained others).
    """
    schema = source.cat.load_table(identifier).schema().as_arrow()
    view = source.view(identifier)
    month_pg = f"to_char({quote(column)} at time zone 'UTC', 'YYYY-MM')" if column else "''"
    month_duck = f"strftime({quote(column)}, '%Y-%m')" if column else "''"
    # every name is quoted; the aggregates are fixed SQL around quoted names
    pg_sql = f"select {month_pg}, {', '.join(_aggregates(schema, 'postgres'))} from public.{quote(table)} group by 1"  # noqa: S608, E501
    lake_sql = f"select {month_duck}, {', '.join(_aggregates(schema, 'duckdb'))} from {quote(view)} group by 1"  # noqa: S608, E501
    with postgres.connect(source.database, source.settings) as conn:
        theirs = _by_month(conn.execute(pg_sql).fetchall(), column)
    return theirs, _by_month(source.con.execute(lake_sql).fetchall(), column)


def _by_month(rows: list[tuple], column: str | None) -> dict:
    return {(row[0] if column else WHOLE_TABLE): _normal(row[1:]) for row in rows}


def changed_months(
    source: Source, table: str, identifier: str, column: str | None = None
) -> list[str]:
    """The months (`YYYY-MM`; `WHOLE_TABLE` without `column`) whose fingerprints differ.

    A month only one side has is changed too. Rows whose date is NULL are in no month: a change
    among them is not listed (pagila's partition columns are NOT NULL).
    """
    theirs, ours = fingerprints(source, table, identifier, column)
    return sorted(m for m in set(theirs) | set(ours) if m and theirs.get(m) != ours.get(m))


@dataclass(frozen=True)
class Differences:
    missing: int  # PostgreSQL rows the lakehouse lacks
    extra: int  # lakehouse rows PostgreSQL does not have (stale versions, deleted rows)

    @property
    def equal(self) -> bool:
        return self.missing == 0 and self.extra == 0

    def __str__(self) -> str:
        if self.equal:
            return "equal, row by row"
        return f"{self.missing:,} rows missing, {self.extra:,} rows PostgreSQL no longer has"


def differences(source: Source, table: str, identifier: str) -> Differences:
    """Compare every row of the lakehouse table with PostgreSQL's, both ways (`EXCEPT ALL`)."""
    view = source.view(identifier)
    names = [f.name for f in source.cat.load_table(identifier).schema().fields]
    columns = ", ".join(quote(n) for n in names)
    pg = f"select {columns} from pg.public.{quote(table)}"  # noqa: S608 - quoted names only
    lake = f"select {columns} from {quote(view)}"  # noqa: S608 - quoted names only
    count = "select count(*) from ({} except all {})"
    missing = source.con.execute(count.format(pg, lake)).fetchone()[0]
    extra = source.con.execute(count.format(lake, pg)).fetchone()[0]
    return Differences(missing, extra)
