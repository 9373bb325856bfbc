"""The stack's PostgreSQL roles, on a real embedded server of the test's own: what the read-only
role Trino's `postgresql` catalog logs in as may do (read pagila) and may not (everything else),
and psql given its login in a passfile, never on its command line."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import psycopg
import pytest

from playground.config.settings import get_settings
from playground.datasets.pagila import seed
from playground.services import postgres
from playground.stack import pg_roles

# statement -> what PostgreSQL answers the read-only role
REFUSED = {
    "create database evil": "permission denied to create database",
    "alter role playground password 'taken'": "permission denied to alter role",
    "alter role playground_reader superuser": "permission denied to alter role",
    "create role evil login": "permission denied to create role",
    "drop table payment": "must be owner of table payment",
    "delete from payment": "permission denied for table payment",
    "update customer set email = 'x'": "permission denied for table customer",
    "create table public.evil (a int)": "permission denied for schema public",
    "copy (select 1) to program 'id'": "permission denied to COPY to or from an external program",
    "select pg_read_file('/etc/passwd')": "permission denied for function pg_read_file",
    "select rolpassword from pg_authid": "permission denied for table pg_authid",
}


@pytest.fixture
def roles(fresh_postgres):
    """Both roles made by `prepare` and `share_pagila`, pagila seeded (the suite's smallest)."""
    embedded = get_settings()
    server = postgres.running(embedded)
    stack = replace(embedded, mode="stack", pg_host="127.0.0.1", pg_port=server.port)
    seed.seed(0.05, database=stack.pagila_db, progress=lambda _line: None)
    pg_roles.prepare(embedded, stack)
    pg_roles.share_pagila(embedded, stack)
    return embedded, stack


def _reader(stack, password: str | None = None, database: str | None = None):
    return psycopg.connect(host="127.0.0.1", port=stack.pg_port, user=pg_roles.READER,
                           password=password or stack.pg_reader_password,
                           dbname=database or stack.pagila_db, autocommit=True,
                           connect_timeout=5)  # fmt: skip


def test_the_reader_reads_pagila_and_owns_nothing(roles) -> None:
    embedded, stack = roles
    with postgres.connect(stack.pagila_db, embedded) as admin:
        expected = admin.execute("select count(*), max(email) from customer").fetchone()
    with _reader(stack) as conn:
        assert conn.execute("select count(*), max(email) from customer").fetchone() == expected
        owned = conn.execute(
            "select count(*) from pg_class where relowner = "
            "(select oid from pg_roles where rolname = current_user)"
        ).fetchone()
        assert owned == (0,)
        flags = conn.execute(
            "select rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls "
            "from pg_roles where rolname = current_user"
        ).fetchone()
        assert flags == (False,) * 5


def test_the_reader_can_change_nothing_nor_read_beyond_pagila(roles) -> None:
    _, stack = roles
    answers = {}
    with _reader(stack) as conn:
        for statement in REFUSED:
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
                conn.execute(statement)
            answers[statement] = str(refused.value)
    assert {s: REFUSED[s] in answer for s, answer in answers.items()} == dict.fromkeys(
        REFUSED, True
    ), answers
    with _reader(stack, database=stack.catalog_db) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="iceberg_tables"):
            conn.execute("select * from iceberg_tables")


def test_a_password_the_reader_set_itself_is_set_back_at_the_next_up(roles) -> None:
    embedded, stack = roles
    with _reader(stack) as conn:  # PostgreSQL lets every role change its own password
        conn.execute("alter role playground_reader password 'chosen-by-an-attacker'")
    pg_roles.prepare(embedded, stack)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _reader(stack, password="chosen-by-an-attacker")
    with _reader(stack) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_psql_gets_its_password_from_a_passfile_not_its_command_line(roles, monkeypatch) -> None:
    _, stack = roles
    seen = []
    real = subprocess.run

    def watched(command, **kwargs):
        passfile = kwargs["env"]["PGPASSFILE"]
        seen.append((command, open(passfile).read(), passfile))  # noqa: SIM115 - read once
        return real(command, **kwargs)

    monkeypatch.setattr(pg_roles.subprocess, "run", watched)
    script = stack.data_dir / "check.sql"
    script.write_text("create table psql_ran (a int);\n")
    pg_roles.psql(stack, stack.catalog_db, script)
    ((command, passfile_text, passfile),) = seen
    assert stack.pg_password not in " ".join(command)
    assert passfile_text.rstrip("\n").endswith(":" + stack.pg_password)
    assert not stack.data_dir.joinpath(passfile).exists()  # removed after the run
    with psycopg.connect(host="127.0.0.1", port=stack.pg_port, user=stack.pg_user,
                         password=stack.pg_password, dbname=stack.catalog_db) as conn:  # fmt: skip
        assert conn.execute("select count(*) from psql_ran").fetchone() == (0,)
