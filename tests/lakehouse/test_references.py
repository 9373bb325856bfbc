"""What `playground clean` reads before it removes anything: every catalog of the data directory.

A table known only to the stack's catalog (its JDBC tables in PostgreSQL), a catalog that cannot
be read, a server that is not running: each keeps the files, and clean says why.
"""

import sys
from pathlib import Path

import pytest
from pyiceberg.catalog.sql import SqlCatalog

from playground.services import postgres
from tests.helpers import run

pytestmark = pytest.mark.slow

CATALOG_DB = "iceberg_catalog"  # the stack's catalog database (Settings.catalog_db)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "playground.cli", *args]


def _extract(to: str, rows: int) -> None:
    query = f"select g as id from generate_series(1, {rows}) g"
    done = run(_cli("extract", "--source", postgres.url("postgres"), "--query", query, "--to", to))
    assert done.returncode == 0, done.stderr[-2000:]


def _files(data: Path) -> set[Path]:
    return {p for p in (data / "warehouse").rglob("*") if p.is_file()}


def _embedded(data: Path) -> SqlCatalog:
    return SqlCatalog("playground", uri=f"sqlite:///{data / 'catalog.db'}",
                      warehouse=(data / "warehouse").as_uri())  # fmt: skip


def test_a_table_only_the_stack_catalog_knows_keeps_its_files(fresh_postgres) -> None:
    """The stack's JDBC catalog (here in the embedded server, as `playground stack up` makes it)
    holds the only reference to a table's files; clean in embedded mode keeps them, and keeps
    them too while that server is down."""
    _extract("raw.moved", 4_000)
    table = _embedded(fresh_postgres).load_table("raw.moved")
    postgres.ensure_database(CATALOG_DB)
    stack = SqlCatalog("lakehouse", uri=postgres.url(CATALOG_DB, driver="psycopg"))
    stack.create_namespace("raw")
    stack.register_table("raw.moved", table.metadata_location)
    _embedded(fresh_postgres).drop_table("raw.moved")  # the embedded catalog forgets it
    files = _files(fresh_postgres)
    assert any("/raw/moved/data/extract-" in str(p) for p in files)

    cleaned = run(_cli("clean"))
    assert cleaned.returncode == 0, cleaned.stderr
    assert "removed: none" in cleaned.stdout
    assert _files(fresh_postgres) == files
    arrow = stack.load_table("raw.moved").scan().to_arrow()
    assert (arrow.num_rows, sum(arrow.column("id").to_pylist())) == (4_000, 4_000 * 4_001 // 2)
    stack.engine.dispose()

    postgres.stop()
    try:
        cleaned = run(_cli("clean"))
        assert cleaned.returncode == 0, cleaned.stderr
        assert "PostgreSQL is not running" in cleaned.stdout
        assert "next: playground services start" in cleaned.stdout
        assert _files(fresh_postgres) == files
    finally:
        postgres.start(progress=lambda _line: None)


def test_a_catalog_that_cannot_be_read_keeps_every_file(fresh_postgres) -> None:
    _extract("raw.kept", 1_000)
    files = _files(fresh_postgres)
    catalog = fresh_postgres / "catalog.db"
    catalog.write_bytes(b"not a database, whatever it was" * 100)

    cleaned = run(_cli("clean"))
    assert cleaned.returncode == 0, cleaned.stderr
    assert "removed: none" in cleaned.stdout
    assert f"the catalog {catalog} cannot be read" in cleaned.stdout
    assert _files(fresh_postgres) == files
    doctor = run(_cli("doctor"))
    assert "cannot tell what killed runs left" in doctor.stdout
    assert "next: playground clean" not in doctor.stdout
