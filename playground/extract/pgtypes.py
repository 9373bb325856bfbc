"""PostgreSQL → Arrow → Iceberg type mapping, decided from PostgreSQL's own catalog.

| PostgreSQL | Arrow | Iceberg | note |
|---|---|---|---|
| smallint, integer | int32 | int | Iceberg has no 16-bit integer: smallint widens |
| bigint | int64 | long | |
| real, double precision | float32, float64 | float, double | |
| numeric(p, s) | decimal128(p, s) | decimal(p, s) | numeric without precision is refused: cast it |
| text, varchar, name | string | string | |
| char(n) | string | string | without trailing blanks, as PostgreSQL's `::text` gives it |
| boolean | bool | boolean | |
| date | date32 | date | |
| time | time64(us) | time | |
| timestamp | timestamp(us) | timestamp | |
| timestamptz | timestamp(us, UTC) | timestamptz | |
| bytea | binary | binary | |
| enum (mpaa_rating) | string | string | Iceberg has no enum: the label |
| domain (year) | its base type | | the constraint is not carried |
| tsvector | string | string | its text form, e.g. `'dinosaur':2` |
| json, jsonb, uuid | string | string | text form |
| array of any of these (text[]) | list | list | |

Anything else raises `UnsupportedType` naming the table, column and type.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pyarrow as pa

from playground.config.names import quote

_SIMPLE = {
    "int2": pa.int32(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "text": pa.string(),
    "varchar": pa.string(),
    "bpchar": pa.string(),
    "name": pa.string(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "time": pa.time64("us"),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "bytea": pa.binary(),
}
# Transported as text: PostgreSQL renders them, Arrow keeps the string.
_AS_TEXT = {"tsvector", "json", "jsonb", "uuid", "bpchar"}


class UnsupportedType(ValueError):
    """A column type the lakehouse cannot hold; the message names table, column and type."""


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str  # as PostgreSQL names it (format_type), for messages
    arrow: pa.DataType
    as_text: bool  # sent as ::text by PostgreSQL (enum, tsvector, json, uuid, arrays of them)


def _type_rows(conn: psycopg.Connection, oids: list[int]) -> dict[int, tuple]:
    rows = conn.execute(
        """select t.oid, format_type(t.oid, null), t.typname, t.typtype, t.typcategory,
                  e.typname, e.typtype
           from pg_type t left join pg_type e on e.oid = t.typelem and t.typcategory = 'A'
           where t.oid = any(%s)""",
        (oids,),
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def _scalar(
    name: str, kind: str, precision: int | None, scale: int | None
) -> tuple[pa.DataType, bool] | None:
    """(Arrow type, sent as text) for a scalar PostgreSQL type, or None if unsupported."""
    if kind == "e" or name in _AS_TEXT:
        return pa.string(), True
    if name == "numeric":
        return None if precision is None else (pa.decimal128(precision, scale or 0), False)
    if name in _SIMPLE:
        return _SIMPLE[name], False
    return None


def describe(conn: psycopg.Connection, query: str, relation: str) -> list[Column]:
    """Columns of `query` with their Arrow types (`relation` names the source in errors)."""
    cursor = conn.execute(f"select * from ({query}) as source limit 0")  # noqa: S608 - caller checks
    description = cursor.description
    types = _type_rows(conn, [d.type_code for d in description])
    columns = []
    for d in description:
        pg_name, typname, typtype, category, elem_name, elem_type = types[d.type_code]
        shown = pg_name if d.precision is None else f"{pg_name}({d.precision},{d.scale})"

        if category == "A" and elem_name:
            mapped = _scalar(elem_name, elem_type, None, None)
        else:
            mapped = _scalar(typname, typtype, d.precision, d.scale)
        if mapped is None:
            raise UnsupportedType(
                f"{relation}.{d.name} has type {shown}, which the lakehouse cannot hold. Extract a "
                f'--query that casts it, e.g. "{d.name}"::text (or numeric(p,s) for numbers).'
            )
        arrow, as_text = mapped
        if category == "A":
            arrow = pa.list_(arrow)
        columns.append(Column(d.name, shown, arrow, as_text))
    return columns


def arrow_schema(columns: list[Column]) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.arrow) for c in columns])


def postgres_projection(columns: list[Column], query: str, for_pandas: bool = False) -> str:
    """`query` with every column cast to what the Arrow side expects (run by PostgreSQL).

    `for_pandas` also sends bytea as hex, and bigint and floats (and float arrays) as text:
    pandas turns an integer column with a NULL into float64 (rounding bigints above 2**53), a
    float NaN into NULL, and its nullable dtypes mangle raw bytes (`pandas_text_schema`).
    """
    parts = []
    for c in columns:
        name = quote(c.name)
        if for_pandas and c.arrow == pa.binary():
            parts.append(f"encode({name}, 'hex') as {name}")
        elif for_pandas and _as_text_for_pandas(c.arrow):
            cast = "::text[]" if pa.types.is_list(c.arrow) else "::text"
            parts.append(f"{name}{cast} as {name}")
        elif c.as_text:
            cast = "::text[]" if pa.types.is_list(c.arrow) else "::text"
            parts.append(f"{name}{cast} as {name}")
        else:
            parts.append(name)
    return f"select {', '.join(parts)} from ({query}) as source"  # noqa: S608 - quoted names


def _as_text_for_pandas(kind: pa.DataType) -> bool:
    if pa.types.is_list(kind):
        return pa.types.is_floating(kind.value_type)
    return kind == pa.int64() or pa.types.is_floating(kind)


def pandas_text_schema(schema: pa.Schema) -> pa.Schema:
    """`schema` as the pandas methods receive it: what `postgres_projection` sent as text is
    text (Arrow casts it back: "NaN" and "Infinity" parse, NULL stays NULL)."""
    fields = []
    for f in schema:
        if _as_text_for_pandas(f.type):
            f = f.with_type(pa.list_(pa.string()) if pa.types.is_list(f.type) else pa.string())
        fields.append(f)
    return pa.schema(fields)


_DUCK = {
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float32(): "FLOAT",
    pa.float64(): "DOUBLE",
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.time64("us"): "TIME",
    pa.timestamp("us"): "TIMESTAMP",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
    pa.binary(): "BLOB",
}


def duckdb_type(arrow: pa.DataType) -> str:
    if pa.types.is_list(arrow):
        return duckdb_type(arrow.value_type) + "[]"
    if pa.types.is_decimal(arrow):
        return f"DECIMAL({arrow.precision},{arrow.scale})"
    return _DUCK[arrow]


def duckdb_projection(columns: list[Column]) -> str:
    """Select list casting DuckDB's view of each column to the mapped type (run by DuckDB)."""
    return ", ".join(
        f"CAST({quote(c.name)} AS {duckdb_type(c.arrow)}) AS {quote(c.name)}" for c in columns
    )
