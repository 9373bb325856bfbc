"""Loading only what changed: four ways to bring a lakehouse table up to date with PostgreSQL.

Each function takes a `reconcile.Source` (PostgreSQL attached to DuckDB, and the catalog), the
PostgreSQL table and its Iceberg table, and returns the number of source rows it read. Change
data capture, the fifth way, is `playground.extract.cdc`.

- `full_reload`: read everything, replace the table (one commit). Always right, always costly.
- `watermark_append`: read rows whose watermark column (`last_update`) is past the lakehouse's
  newest value and append them. Misses deletes; an updated row is appended beside its old copy.
- `watermark_upsert`: the same rows, merged on the primary key (PyIceberg's upsert): updates
  replace their old copy. Still misses deletes: a deleted row leaves no watermark behind.
- `replace_changed_months`: months whose digests differ (`reconcile.changed_months`) are
  read again and replaced, one commit; a table without a partition column is replaced whole.
"""

from __future__ import annotations

import pyarrow as pa

from playground.config.months import month_bounds, utc_literal
from playground.config.names import quote
from playground.extract import api
from playground.extract.reconcile import WHOLE_TABLE, Source, changed_months
from playground.services import postgres


def conform(rows: pa.Table, schema: pa.Schema) -> pa.Table:
    """`rows` with the lakehouse table's columns, in its order and types."""
    return rows.select(schema.names).cast(schema)


def full_reload(
    source: Source, table: str, identifier: str, partition_column: str | None = None
) -> int:
    """Replace the whole Iceberg table with the PostgreSQL table."""
    result = api.extract(
        identifier, table=f"public.{table}", source=postgres.url(source.database, source.settings),
        partition_by=f"{partition_column}:month" if partition_column else None,
        mode="replace", cat=source.cat, settings=source.settings, progress=lambda _line: None,
    )  # fmt: skip
    return result.rows


def watermark(source: Source, identifier: str, column: str):
    """The newest value of `column` in the lakehouse table (None when it is empty)."""
    view = source.view(identifier)
    return source.con.execute(f"select max({quote(column)}) from {quote(view)}").fetchone()[0]  # noqa: S608


def _since(source: Source, table: str, identifier: str, column: str) -> pa.Table:
    mark = watermark(source, identifier, column)
    if mark is None:
        return source.rows(table)
    return source.rows(table, newer=(column, mark))


def watermark_append(source: Source, table: str, identifier: str, column: str) -> int:
    """Append the rows past the watermark."""
    iceberg = source.cat.load_table(identifier)
    rows = _since(source, table, identifier, column)
    if rows.num_rows:
        iceberg.append(conform(rows, iceberg.schema().as_arrow()))
    return rows.num_rows


def watermark_upsert(
    source: Source, table: str, identifier: str, column: str, key: list[str]
) -> int:
    """Merge the rows past the watermark into the table on `key` (update, or insert)."""
    iceberg = source.cat.load_table(identifier)
    rows = _since(source, table, identifier, column)
    if rows.num_rows:
        iceberg.upsert(conform(rows, iceberg.schema().as_arrow()), join_cols=key)
    return rows.num_rows


def months_query(table: str, column: str, months: list[str]) -> str:
    """The SQL reading `months` (`YYYY-MM`, UTC) of a PostgreSQL table."""
    ranges = []
    for month in months:
        first, after = month_bounds(month)
        name = quote(column)
        ranges.append(f"({name} >= {utc_literal(first)} and {name} < {utc_literal(after)})")
    # quoted names, and literals of parsed dates
    return f"select * from public.{quote(table)} where " + " or ".join(ranges)  # noqa: S608


def replace_changed_months(
    source: Source, table: str, identifier: str, partition_column: str | None
) -> tuple[int, list[str]]:
    """Replace the months whose digests differ; (rows read, the months replaced)."""
    months = changed_months(source, table, identifier, partition_column)
    if not months:
        return 0, []
    if months == [WHOLE_TABLE]:  # no month column, new columns, or rows without a month
        return full_reload(source, table, identifier, partition_column), months
    result = api.extract(
        identifier, query=months_query(table, partition_column, months),
        source=postgres.url(source.database, source.settings),
        partition_by=f"{partition_column}:month", mode="overwrite-partitions", months=months,
        cat=source.cat, settings=source.settings, progress=lambda _line: None,
    )  # fmt: skip
    return result.rows, months
