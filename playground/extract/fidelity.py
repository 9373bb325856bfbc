"""Values the lakehouse cannot hold, found by PostgreSQL while the rows are read.

Every other value arrives equal with every method (tests/extract/test_fidelity*.py). These are
refused, with one line naming the table, the column, the value and the first row's key:

- numeric `'NaN'`: Iceberg's decimal has no NaN (DuckDB's reader made it 0, pandas NULL).
- date, timestamp, timestamptz: `±infinity`, BC, or after 9999 (a timestamptz counts in UTC):
  Iceberg has no infinity, and PyIceberg's column statistics are Python dates (years 1-9999).
- time `'24:00:00'`: Iceberg's time ends at 23:59:59.999999 (the readers made it 00:00).

float and double NaN and ±Infinity are kept: Iceberg's float and double hold them.

One query over the rows being read looks for them (`watch`), in its own PostgreSQL connection
while the read runs, so it costs no Python work per row; the extract waits for it before it
commits. Arrays of these types are searched element by element.
"""

from __future__ import annotations

import threading

import psycopg
import pyarrow as pa

from playground.config.names import quote
from playground.extract.errors import ExtractError
from playground.extract.pgtypes import Column

_YEARS = "the lakehouse holds the years 1 to 9999 only (Iceberg has no infinity)"
_TOO_OLD = "'0001-01-01 00:00:00{zone}'::{kind}"
_TOO_NEW = "'10000-01-01 00:00:00{zone}'::{kind}"


def _outside_years(value: str, kind: str, zone: str = "") -> str:
    low, high = _TOO_OLD.format(zone=zone, kind=kind), _TOO_NEW.format(zone=zone, kind=kind)
    return f"({value} < {low} or {value} >= {high})"


def _test(kind: pa.DataType, value: str) -> tuple[str, str] | None:
    """(SQL true where `value` cannot be held, why) for a column of Arrow type `kind`."""
    if pa.types.is_decimal(kind):
        return f"{value} = 'NaN'::numeric", f"Iceberg's {_iceberg_decimal(kind)} has no NaN"
    if pa.types.is_date(kind):
        return _outside_years(value, "date"), _YEARS
    if pa.types.is_timestamp(kind) and kind.tz:
        return _outside_years(value, "timestamptz", "+00"), _YEARS + " (UTC)"
    if pa.types.is_timestamp(kind):
        return _outside_years(value, "timestamp"), _YEARS
    if pa.types.is_time(kind):
        return f"{value} > '23:59:59.999999'::time", "Iceberg's time ends at 23:59:59.999999"
    return None


def _iceberg_decimal(kind: pa.Decimal128Type) -> str:
    return f"decimal({kind.precision}, {kind.scale})"


def checks(columns: list[Column]) -> list[tuple[Column, str, str]]:
    """(column, SQL true for a row holding a value it cannot hold, why) for each such column."""
    found = []
    for column in columns:
        name = quote(column.name)
        if pa.types.is_list(column.arrow):
            test = _test(column.arrow.value_type, "element")
            if test is not None:
                where = f"exists (select from unnest({name}) as e(element) where {test[0]})"
                found.append((column, where, test[1]))
        elif (test := _test(column.arrow, name)) is not None:
            found.append((column, *test))
    return found


def key_columns(
    conn: psycopg.Connection, table: str | None, columns: list[Column]
) -> tuple[list[str], bool]:
    """(the primary key of a plain `table` (schema.table), True), else ([first column], False)."""
    names = [c.name for c in columns]
    if table is not None:
        rows = conn.execute(
            """select a.attname from pg_index i join pg_attribute a
                 on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
               where i.indrelid = to_regclass(%s) and i.indisprimary
               order by array_position(i.indkey::int2[], a.attnum)""",
            (".".join(quote(part) for part in table.split(".")),),
        ).fetchall()
        key = [name for (name,) in rows]
        if key and set(key) <= set(names):
            return key, True
    return names[:1], False


def offending_query(read_sql: str, found: list[tuple[Column, str, str]], key: list[str],
                    ordered: bool) -> str:  # fmt: skip
    """SQL returning the first row (in key order when `ordered`) holding an unholdable value:
    its key values as text, then the index of the first such column and that value as text."""
    keys = ", ".join(f"{quote(k)}::text" for k in key)
    which = " ".join(f"when {test} then {i}" for i, (_, test, _) in enumerate(found))
    value = " ".join(f"when {test} then {quote(c.name)}::text" for c, test, _ in found)
    where = " or ".join(f"({test})" for _, test, _ in found)
    # `source.` : the key's values, not the text the select list makes of them ('10' < '3')
    order = f" order by {', '.join('source.' + quote(k) for k in key)}" if ordered else ""
    return (
        f"select {keys}, case {which} end, case {value} end "  # noqa: S608 - quoted names
        f"from ({read_sql}) as source where {where}{order} limit 1"
    )


class Watch:
    """The offending-value query, running in a thread on its own connection."""

    def __init__(self, url: str, read_sql: str, found, table: str | None, columns,
                 relation: str) -> None:  # fmt: skip
        self.url, self.read_sql, self.found, self.relation = url, read_sql, found, relation
        self.table, self.columns = table, columns
        self.key, self.row, self.error, self.conn = [], None, None, None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with psycopg.connect(self.url, connect_timeout=5, options="-c TimeZone=UTC") as conn:
                self.conn = conn
                self.key, ordered = key_columns(conn, self.table, self.columns)
                sql = offending_query(self.read_sql, self.found, self.key, ordered)
                self.row = conn.execute(sql).fetchone()
        except BaseException as exc:  # handed to refusal()
            self.error = exc

    def stop(self) -> None:
        """Cancel the query (the read failed or was interrupted)."""
        if self.conn is not None:
            try:
                self.conn.cancel_safe(timeout=5)
            except (psycopg.Error, OSError):
                pass

    def refusal(self, read_failed: bool = False) -> ExtractError | None:
        """The one-line error for the first offending row, or None if every value fits.

        When the read itself failed, a failed query is not reported (the read's error is)."""
        self.thread.join()
        if self.error is not None:
            if read_failed:
                return None
            first = str(self.error).strip().splitlines()[0] if str(self.error).strip() else ""
            return ExtractError(f"{self.relation}: checking the values failed ({first}).")
        if self.row is None:
            return None
        *keys, index, value = self.row
        column, _, why = self.found[index]
        at = ", ".join(f"{k}={v}" for k, v in zip(self.key, keys, strict=True))
        return ExtractError(
            f"{self.relation}.{column.name} holds {value} at {at}, which the lakehouse cannot "
            f"hold: {why}. Nothing was committed; fix the row, or extract a --query that maps "
            f"the value (e.g. nullif({quote(column.name)}, ...))."
        )


def watch(url: str, read_sql: str, columns: list[Column], table: str | None,
          relation: str) -> Watch | None:  # fmt: skip
    """Start looking for unholdable values in the rows of `read_sql` (None: no column can hold
    one); `table` is the plain table read, if any (its primary key names the rows)."""
    found = checks(columns)
    return Watch(url, read_sql, found, table, columns, relation) if found else None
