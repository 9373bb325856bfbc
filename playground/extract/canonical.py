"""A row's canonical text and its 64-bit hash, written once for PostgreSQL and once for DuckDB.

Reconciliation (`playground.extract.reconcile`) sums these hashes per month on both sides, the
way data-diff tools do: any changed value changes its row's hash, and so the month's sum. For the
sums to be equal the text must be identical in both engines for every type the lakehouse holds
(`playground.extract.pgtypes`), whatever the machine's time zone or the server's settings:

| kind | canonical text |
|---|---|
| integers, booleans, decimals | the engines' own text (decimals at PostgreSQL's scale) |
| floats | the IEEE 754 bits (the engines' texts differ: `1e+15` and `1000000000000000.0`, and
  PostgreSQL writes some integral doubles digit for digit); every NaN is `nan` |
| date, time, timestamp(tz) | days / microseconds since 1970-01-01 (or midnight), UTC; `infinity` |
| text and what is sent as text | the text itself |
| bytea | lower-case hex |
| lists | `[` the elements' fields `]` |

Each column becomes a field `<length>:<text>`, or `-` for NULL, so NULL and '' differ and no
value can run into its neighbour. PostgreSQL hashes the UTF-8 bytes (`convert_to`) whatever the
database's encoding; DuckDB's strings are UTF-8.
"""

from __future__ import annotations

import pyarrow as pa

from playground.config.names import quote
from playground.extract.pgtypes import Column, duckdb_type

POSTGRES, DUCKDB = "postgres", "duckdb"


def _float(value: str, kind: pa.DataType, dialect: str) -> str:
    """The IEEE 754 bits, most significant first (`float8send` in PostgreSQL, `::bit` in
    DuckDB); every NaN is `nan`, as PostgreSQL keeps no NaN payload."""
    if dialect == DUCKDB:
        return f"(case when isnan({value}) then 'nan' else ({value})::bit::text end)"
    width = kind.bit_width
    send = "float8send" if width == 64 else "float4send"
    bits = f"('x' || encode({send}({value}), 'hex'))::bit({width})::text"
    return f"(case when {value} = 'NaN' then 'nan' else {bits} end)"


def _micros(value: str, dialect: str) -> str:
    if dialect == POSTGRES:
        return f"(extract(epoch from {value}) * 1000000)::bigint::text"
    return f"epoch_us({value})::text"


def _scalar(value: str, kind: pa.DataType, dialect: str) -> str:
    """The canonical text of a non-NULL scalar `value` (an SQL expression) of Arrow type `kind`."""
    if pa.types.is_floating(kind):
        return _float(value, kind, dialect)
    if pa.types.is_date(kind):
        return (f"(case when isfinite({value}) then ({value} - date '1970-01-01')::text "
                f"else ({value})::text end)")  # fmt: skip
    if pa.types.is_timestamp(kind):
        return (
            f"(case when isfinite({value}) then {_micros(value, dialect)} else ({value})::text end)"  # noqa: E501
        )
    if pa.types.is_time(kind):
        return _micros(value, dialect)
    if pa.types.is_binary(kind):
        return f"encode({value}, 'hex')" if dialect == POSTGRES else f"lower(hex({value}))"
    if pa.types.is_decimal(kind) and dialect == DUCKDB:
        return f"({value})::{duckdb_type(kind)}::text"
    return f"({value})::text"


def field(value: str, kind: pa.DataType, dialect: str) -> str:
    """`value` as its field: `<length>:<canonical text>`, or `-` when NULL."""
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        inner = field("e", kind.value_type, dialect)
        if dialect == POSTGRES:
            # quoted names and fixed SQL around them
            items = (f"(select string_agg({inner}, ',' order by n) "  # noqa: S608
                     f"from unnest({value}) with ordinality as u(e, n))")  # fmt: skip
        else:
            items = f"array_to_string(list_transform({value}, e -> {inner}), ',')"
        # an empty list is `[]`, a NULL one stays NULL (its field `-`)
        text = f"(case when {value} is null then null else '[' || coalesce({items}, '') || ']' end)"
    else:
        text = _scalar(value, kind, dialect)
    return f"coalesce(length({text})::text || ':' || {text}, '-')"


def _value(column: Column, dialect: str) -> str:
    """The column as the lakehouse holds it: PostgreSQL's text form where the extract sends text."""
    name = quote(column.name)
    if dialect == POSTGRES and column.as_text:
        return f"{name}::text[]" if pa.types.is_list(column.arrow) else f"{name}::text"
    return name


def row_text(columns: list[Column], dialect: str) -> str:
    """SQL for the row's canonical text: its columns' fields, comma-separated."""
    fields = [field(_value(c, dialect), c.arrow, dialect) for c in columns]
    return " || ',' || ".join(fields) or "''"


def row_hash(columns: list[Column], dialect: str) -> str:
    """SQL for a 64-bit hash of the row's canonical text (bigint in PostgreSQL, ubigint in DuckDB).

    Sums of it agree modulo 2**64 between the engines when the rows do.
    """
    text = row_text(columns, dialect)
    if dialect == POSTGRES:
        return f"('x' || left(md5(convert_to({text}, 'UTF8')), 16))::bit(64)::bigint"
    return f"('0x' || left(md5({text}), 16))::ubigint"
