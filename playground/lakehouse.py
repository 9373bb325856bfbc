"""The Iceberg catalog shared by PyIceberg, DuckDB and (on the stack) Trino.

Embedded mode: a PyIceberg `SqlCatalog` on SQLite with a local warehouse folder. Stack mode: the
same catalog tables in the stack's PostgreSQL (Trino's JDBC catalog reads them) with the warehouse
in the object store. DuckDB cannot attach a SQL catalog, so tables reach DuckDB as views over
`iceberg_scan(<current metadata file>)`.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

import duckdb
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from playground.settings import Settings, get_settings, require_reachable

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_identifier(identifier: str) -> tuple[str, str]:
    """Split `namespace.table`, accepting only lower-case SQL-safe names (one namespace level)."""
    parts = identifier.split(".")
    if len(parts) != 2 or not all(_IDENTIFIER.match(p) for p in parts):
        raise ValueError(
            f"{identifier!r} is not a valid table identifier: use namespace.table, each part "
            "lower-case letters, digits and underscores, starting with a letter or underscore."
        )
    return parts[0], parts[1]


def catalog_properties(settings: Settings) -> dict[str, str]:
    if settings.is_stack:
        user = quote(settings.pg_user, safe="")
        password = quote(settings.pg_password, safe="")
        host = f"{settings.pg_host}:{settings.pg_port}"
        return {
            "uri": f"postgresql+psycopg://{user}:{password}@{host}/{settings.catalog_db}",
            "warehouse": settings.warehouse,
            "s3.endpoint": settings.s3_endpoint,
            "s3.access-key-id": settings.s3_access_key,
            "s3.secret-access-key": settings.s3_secret_key,
            # Without a region PyIceberg probes for one on every write (seconds each time).
            "s3.region": settings.s3_region,
            "s3.path-style-access": "true",
        }
    settings.data_dir.joinpath("warehouse").mkdir(parents=True, exist_ok=True)
    return {
        "uri": f"sqlite:///{settings.data_dir / 'catalog.db'}",
        "warehouse": settings.warehouse,
    }


def catalog(settings: Settings | None = None) -> Catalog:
    """The `playground` Iceberg catalog for the current mode.

    Raises:
        ServiceUnavailable: in stack mode, the catalog database or the object store is down.
    """
    settings = settings or get_settings()
    if settings.is_stack:
        s3 = urlsplit(settings.s3_endpoint)
        require_reachable(
            "Iceberg catalog (PostgreSQL)", settings.pg_host, settings.pg_port, settings
        )
        require_reachable("object store (S3)", s3.hostname or "localhost", s3.port or 80, settings)
    return SqlCatalog(settings.catalog_name, **catalog_properties(settings))


def write_table(
    identifier: str, data: pa.Table, settings: Settings | None = None, cat: Catalog | None = None
) -> Table:
    """Create `identifier` from `data`, or replace its rows in one atomic snapshot if it exists.

    The schema is evolved by name first when `data` brings new columns.
    """
    namespace, _ = check_identifier(identifier)
    cat = cat or catalog(settings)
    cat.create_namespace_if_not_exists(namespace)
    try:
        table = cat.load_table(identifier)
    except NoSuchTableError:
        table = cat.create_table(identifier, schema=data.schema)
        table.append(data)
        return table
    with table.transaction() as tx:
        if table.schema().as_arrow() != data.schema:
            with tx.update_schema() as update:
                update.union_by_name(data.schema)
        tx.overwrite(data)
    return table


def iceberg_schema(schema: pa.Schema):
    """The Iceberg schema PyIceberg creates for an Arrow schema (fresh field ids, in order)."""
    # The same conversion create_table applies; needed up front to build a partition spec.
    return Catalog._convert_schema_if_needed(schema)


def metadata_location(identifier: str, settings: Settings | None = None) -> str:
    """The current metadata file of a table, as DuckDB's `iceberg_scan` wants it."""
    check_identifier(identifier)
    location = catalog(settings).load_table(identifier).metadata_location
    return location.removeprefix("file://")


def register_duckdb_view(
    con: duckdb.DuckDBPyConnection,
    identifier: str,
    view: str | None = None,
    settings: Settings | None = None,
) -> str:
    """Expose an Iceberg table's current snapshot in DuckDB as a view; returns the view name.

    The view pins the snapshot current now; call again after the table changes.
    """
    _, table = check_identifier(identifier)
    view = view or table
    if not _IDENTIFIER.match(view):
        raise ValueError(f"{view!r} is not a valid view name.")
    location = metadata_location(identifier, settings).replace("'", "''")
    # The view name matched _IDENTIFIER and the path is quoted: nothing unchecked reaches the SQL.
    con.execute(f"CREATE OR REPLACE VIEW \"{view}\" AS SELECT * FROM iceberg_scan('{location}')")  # noqa: S608
    return view
