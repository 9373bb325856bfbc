"""The Iceberg lakehouse: the catalog and its tables, the object store, the DuckDB warehouse file,
and cleaning up after killed writers.

`from playground import lakehouse` gives the table functions of `lakehouse.tables`
(`lakehouse.catalog()`, `lakehouse.read()`, ...); the other modules are imported by name.
"""

from playground.lakehouse.tables import (
    ConcurrentWrite,
    append,
    catalog,
    catalog_properties,
    delete,
    has_zone,
    iceberg_schema,
    metadata_location,
    overwrite,
    read,
    register_duckdb_view,
    snapshots,
    upsert,
    window_filter,
    write_table,
    write_window,
)

__all__ = [
    "ConcurrentWrite",
    "append",
    "catalog",
    "catalog_properties",
    "delete",
    "has_zone",
    "iceberg_schema",
    "metadata_location",
    "overwrite",
    "read",
    "register_duckdb_view",
    "snapshots",
    "upsert",
    "window_filter",
    "write_table",
    "write_window",
]
