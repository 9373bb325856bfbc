"""Typed Dagster resources over the playground's connection helpers.

No resource holds a host, a path or a credential as a field: each reads the playground settings
(environment, then `.env`, then `.env.example`'s defaults) when it is used, so the same definitions
serve embedded and stack mode and nothing secret is written into code or into Dagster's run config.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb
import psycopg
from dagstermill import ConfigurableLocalOutputNotebookIOManager
from pydantic import Field, PrivateAttr
from pyiceberg.catalog import Catalog

from playground import lakehouse
from playground.config.settings import ServiceUnavailable, Settings, get_settings
from playground.engines import duck
from playground.orchestration.io import duckdb as duckdb_io
from playground.orchestration.io import parquet as parquet_io
from playground.orchestration.io.iceberg import ArrowIcebergIOManager
from playground.orchestration.io.snowflake import snowflake_io_manager
from playground.orchestration.io.trino import TrinoIcebergIOManager
from playground.services import postgres


class PostgresResource(dg.ConfigurableResource):
    """The source PostgreSQL: the embedded server (started when needed) or the stack's."""

    database: str = Field(default="", description="Database; empty = PLAYGROUND_PAGILA_DB.")

    def settings(self) -> Settings:
        return get_settings()

    def database_name(self) -> str:
        return self.database or self.settings().pagila_db

    _started: bool = PrivateAttr(default=False)

    def _start_once(self) -> None:
        """Start the embedded server at the run's first use only: one stopped during the run
        stays stopped (the run fails saying so) instead of being started behind the learner."""
        if not self._started:
            self._started = True
            postgres.start(self.settings(), progress=lambda _line: None)

    def url(self) -> str:
        try:
            self._start_once()
            return postgres.url(self.database_name(), self.settings())
        except ServiceUnavailable as exc:
            raise dg.Failure(str(exc)) from None

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        """A psycopg connection; a `dg.Failure` naming the fix when the server is unreachable."""
        try:
            self._start_once()
            conn = postgres.connect(self.database_name(), self.settings())
        except ServiceUnavailable as exc:
            raise dg.Failure(str(exc)) from None
        except psycopg.OperationalError as exc:
            first = str(exc).strip().splitlines()[0]
            raise dg.Failure(
                f"database {self.database_name()!r}: {first}. Next: `playground seed` creates "
                "pagila; `playground doctor` checks the services."
            ) from None
        with conn:
            yield conn


class LakehouseResource(dg.ConfigurableResource):
    """The Iceberg catalog, opened once per run and shared by the assets that use it, and an
    in-memory DuckDB over its tables for checks."""

    _catalog: Catalog | None = PrivateAttr(default=None)
    _duckdb: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)

    def duckdb(self, *identifiers: str) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB (one per run) with a view `<table>` over each of `identifiers`
        at its current snapshot."""
        if self._duckdb is None:
            self._duckdb = duck.connect(":memory:", get_settings())
        for identifier in identifiers:
            if not self.catalog().table_exists(identifier):
                raise dg.Failure(
                    f"the lakehouse has no table {identifier}: materialize "
                    f"{identifier.replace('.', '/')} first."
                )
            lakehouse.register_duckdb_view(self._duckdb, identifier, cat=self.catalog())
        return self._duckdb

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._duckdb is not None:
            self._duckdb.close()

    def catalog(self) -> Catalog:
        if self._catalog is None:
            try:
                self._catalog = lakehouse.catalog(get_settings())
            except ServiceUnavailable as exc:
                raise dg.Failure(str(exc)) from None
        return self._catalog


class DuckDBResource(dg.ConfigurableResource):
    """The DuckDB warehouse file (`<data dir>/playground.duckdb`) with the lakehouse extensions."""

    database: str = Field(default="", description="A file path; empty = the warehouse file.")

    def path(self) -> str:
        return self.database or str(get_settings().duckdb_path)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duck.connect(self.path(), get_settings(), read_only=read_only)
        try:
            yield con
        finally:
            con.close()


def resources() -> dict:
    """Resource instances keyed as the assets expect them."""
    found = {
        "postgres": PostgresResource(),
        "lakehouse": LakehouseResource(),
        "duckdb": DuckDBResource(),
        "iceberg_io_manager": ArrowIcebergIOManager(),
        "warehouse_io_manager": duckdb_io.warehouse_io_manager(),
        "parquet_io_manager": parquet_io.PartitionedParquetIOManager(),
        "trino_io_manager": TrinoIcebergIOManager(),  # talks to Trino only when an asset uses it
        # Executed notebooks go to the Dagster instance's storage folder.
        "output_notebook_io_manager": ConfigurableLocalOutputNotebookIOManager(),
    }
    snowflake = snowflake_io_manager(get_settings())
    if snowflake is not None:
        found["snowflake_io_manager"] = snowflake
    return found
