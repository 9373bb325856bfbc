"""The local stack's PostgreSQL roles: the stack's own login, and the read-only one Trino uses.

- `PLAYGROUND_PG_USER` (default `playground`): no superuser; owns the catalog database and the
  pagila database (so a stack-mode `seed` may replace it); the REST catalog, PyIceberg's
  extracts and the lessons log in as it.
- `playground_reader` (`READER`), the login of Trino's `postgresql` catalog: it owns nothing and
  may only read pagila's tables (SELECT, granted on each `stack up`). So whatever SQL reaches
  PostgreSQL through that catalog (`CALL postgresql.system.execute(...)` passes any statement
  through) runs without the right to create a database or a role, alter another role, drop or
  change a table, run a program or read a file. PostgreSQL lets every role change its own
  password; the next `stack up` sets it back.

Passwords never reach a command line: psql reads its login from a passfile (0600, in the data
directory, removed afterwards).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from psycopg import sql

from playground.config.files import write_private
from playground.config.settings import ServiceUnavailable, Settings, project_root
from playground.services import postgres

READER = "playground_reader"
INIT_SQL = Path("docker") / "postgres" / "initdb" / "01-playground.sql"
_LOGIN = " login nosuperuser nocreatedb nocreaterole noreplication nobypassrls"


def _role(conn, name: str, options: str, password: str) -> None:
    exists = conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone()
    verb = "alter" if exists else "create"
    conn.execute(
        sql.SQL(verb + " role {}" + options + " password {}").format(
            sql.Identifier(name), sql.Literal(password)
        )
    )


def prepare(embedded: Settings, stack: Settings) -> None:
    """Make the embedded server serve the stack: both login roles (their passwords set on every
    `up`, so a changed one takes effect and one a reader changed is set back) and, once, the init
    SQL the compose postgres service runs (the catalog database and tables), run as the stack's
    role."""
    with postgres.connect("postgres", embedded, autocommit=True) as conn:
        _role(conn, stack.pg_user, _LOGIN.replace("nocreatedb", "createdb"), stack.pg_password)
        _role(conn, READER, _LOGIN + " noinherit", stack.pg_reader_password)
        has_catalog = conn.execute(
            "select 1 from pg_database where datname = %s", (stack.catalog_db,)
        ).fetchone()
    if not has_catalog:
        psql(stack, "postgres", project_root() / INIT_SQL)


def psql(stack: Settings, database: str, script: Path) -> None:
    """Run `script` with psql as the stack's role over TCP; the password goes in a passfile."""

    def escaped(value: object) -> str:
        return str(value).replace("\\", "\\\\").replace(":", "\\:")

    # any database: the script may `\connect` to another one
    fields = (stack.pg_host, stack.pg_port, "*", stack.pg_user, stack.pg_password)
    line = ":".join(escaped(v) for v in fields)
    folder = stack.data_dir / "stack"
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".pgpass-", dir=folder)
    os.close(handle)
    passfile = Path(name)
    try:
        write_private(passfile, line + "\n")
        conninfo = (
            f"host={stack.pg_host} port={stack.pg_port} dbname={database} user={stack.pg_user}"
        )
        env = {**os.environ, "PGPASSFILE": str(passfile)}
        env.pop("PGPASSWORD", None)
        done = subprocess.run([str(postgres.psql_path()), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                               "-d", conninfo, "-f", str(script)],
                              capture_output=True, text=True, env=env)  # fmt: skip
        if done.returncode != 0:
            raise ServiceUnavailable(
                f"running {script.name} on the stack's PostgreSQL failed: "
                f"{done.stderr.strip()[-500:]}. Fix that, then `playground stack up` again."
            )
    finally:
        passfile.unlink(missing_ok=True)


def share_pagila(embedded: Settings, stack: Settings) -> None:
    """The stack's role owns the pagila database; the reader may connect and read its tables,
    and nothing else (the grants are made as the server's superuser, so the reader owns none)."""
    role, reader = sql.Identifier(stack.pg_user), sql.Identifier(READER)
    database = sql.Identifier(stack.pagila_db)
    with postgres.connect("postgres", embedded, autocommit=True) as conn:
        conn.execute(sql.SQL("alter database {} owner to {}").format(database, role))
        conn.execute(sql.SQL("grant connect on database {} to {}").format(database, reader))
    with postgres.connect(stack.pagila_db, embedded, autocommit=True) as conn:
        for grantee in (role, reader):
            conn.execute(sql.SQL("grant usage on schema public to {}").format(grantee))
            conn.execute(
                sql.SQL("grant select on all tables in schema public to {}").format(grantee)
            )
