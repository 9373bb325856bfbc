"""The source side of `playground extract`: the SQL to read, the source checked and described.

`describe` also records the source database's identity, so that a read failing midway can say
whether the database was replaced (`playground seed`), restarted or stopped (`read_failed`).
"""

from __future__ import annotations

import re

import psycopg

from playground.config.secrets import scrub
from playground.extract import pgtypes
from playground.extract.errors import ExtractError

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")


def source_query(table: str | None, query: str | None) -> tuple[str, str, str | None]:
    """(SQL to read, name for messages, table name if a plain table)."""
    if (table is None) == (query is None):
        raise ExtractError("give exactly one of a table (--table) or a query (--query)")
    if table is not None:
        if not _TABLE_NAME.match(table):
            raise ExtractError(f"{table!r} is not a table name (schema.table or table).")
        quoted = ".".join(f'"{part}"' for part in table.split("."))
        return f"select * from {quoted}", table, table  # noqa: S608 - checked and quoted
    sql = query.strip()
    while True:  # trailing semicolons and `-- comments` (one without quotes: not in a string)
        trimmed = re.sub(r"--[^'\"\n]*$", "", sql).rstrip().rstrip(";").rstrip()
        if trimmed == sql:
            return sql, "query", None
        sql = trimmed


def check_source(source: str) -> str:
    if not source.startswith(("postgresql://", "postgres://")):
        raise ExtractError(
            f"--source {source!r} is not a PostgreSQL URL; use postgresql://USER:PASSWORD@HOST:PORT"
            "/DATABASE (or leave --source out for the configured pagila database)."
        )
    try:
        psycopg.conninfo.conninfo_to_dict(source)
    except psycopg.ProgrammingError as exc:
        raise ExtractError(f"--source is not a valid PostgreSQL URL: {exc}") from None
    return source


def identity(conn: psycopg.Connection) -> tuple:
    """What changes when the source database is replaced (seed) or its server restarts."""
    return conn.execute(
        "select oid, pg_postmaster_start_time() from pg_database where datname = current_database()"
    ).fetchone()


def describe(source_url: str, read_sql: str, name: str, given: bool):
    """The source's columns, and its identity (to explain a read that fails midway)."""
    where = "Check --source" if given else "Run `playground doctor` to check the configured one"
    try:
        with psycopg.connect(source_url, connect_timeout=5) as conn:
            return pgtypes.describe(conn, read_sql, name), identity(conn)
    except psycopg.OperationalError as exc:
        raise ExtractError(
            f"cannot reach the source PostgreSQL: {str(exc).strip().splitlines()[0]}. {where}."
        ) from None
    except psycopg.Error as exc:
        raise ExtractError(f"{name}: {str(exc).strip().splitlines()[0]}") from None


def read_failed(source_url: str, before: tuple, exc: BaseException) -> ExtractError | None:
    """An ExtractError explaining `exc` if the source was replaced or restarted during the read
    (`before`: its `identity` when the read began)."""
    if not isinstance(exc, Exception) or isinstance(exc, ExtractError):
        return None
    dropped = False
    try:
        with psycopg.connect(source_url, connect_timeout=5) as conn:
            now = identity(conn)
    except psycopg.Error as error:
        now, dropped = None, "does not exist" in str(error)  # the server answered: no database
    if now == before:
        return None
    if now is None and not dropped:
        what = "stopped (it no longer answers; `playground doctor` says how to start it)"
    elif now is not None and now[0] == before[0]:
        what = "restarted"
    else:
        what = "replaced (by `playground seed`?)"
    return ExtractError(
        f"the source database was {what} while it was being read ({type(exc).__name__}: "
        f"{scrub(str(exc).strip().splitlines()[0]) if str(exc).strip() else 'connection lost'}). "
        "Nothing was committed; run the extract again."
    )
