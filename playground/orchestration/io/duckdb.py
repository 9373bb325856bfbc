"""The DuckDB warehouse IO manager: dagster-duckdb's own, pandas flavour, on the warehouse file.

An asset stored with it becomes the table `<schema>.<asset name>` in `<data dir>/playground.duckdb`
(the file Metabase and Superset read). A partitioned asset names its partition column in the
`partition_expr` metadata; the IO manager then deletes that slice and inserts the new rows in one
transaction, so re-materializing a month replaces only that month.
"""

from dagster_duckdb_pandas import DuckDBPandasIOManager

from playground.config.settings import Settings, get_settings

SCHEMA = "reports"


def warehouse_io_manager(settings: Settings | None = None) -> DuckDBPandasIOManager:
    """The IO manager on the configured warehouse file (read when the definitions load)."""
    settings = settings or get_settings()
    return DuckDBPandasIOManager(database=str(settings.duckdb_path), schema=SCHEMA)
