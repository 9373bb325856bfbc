"""The Iceberg catalog shared by PyIceberg, DuckDB and (on the stack) Trino.

Embedded mode: a PyIceberg `SqlCatalog` on SQLite with a local warehouse folder (no server, no
Java). DuckDB cannot attach a SQL catalog, so there tables reach DuckDB as views over
`iceberg_scan(<current metadata file>)`. Stack mode: the stack's Iceberg REST catalog
(`PLAYGROUND_CATALOG_URI`), which keeps its tables in the stack's PostgreSQL and its files in the
object store; PyIceberg, Trino and DuckDB (`engines.duck.attach_lakehouse`) all read and write
through it.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote, urlsplit

import duckdb
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError, ValidationException
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.table import Table

from playground.config.names import IDENTIFIER, check_identifier
from playground.config.settings import Settings, get_settings
from playground.lakehouse.specs import (
    has_zone,
    iceberg_schema,
    partition_spec,
    quiet_empty_deletes,
    window_filter,
)
from playground.services.net import require_reachable


def catalog_properties(settings: Settings) -> dict[str, str]:
    if settings.is_stack:
        return {
            "uri": settings.catalog_uri,
            "token": settings.catalog_token,  # the stack's catalog asks for it (a bearer token)
            "s3.endpoint": settings.s3_endpoint,
            "s3.access-key-id": settings.s3_access_key,
            "s3.secret-access-key": settings.s3_secret_key,
            # Without a region PyIceberg probes for one on every write (seconds each time).
            "s3.region": settings.s3_region,
            "s3.path-style-access": "true",
        }
    settings.data_dir.joinpath("warehouse").mkdir(parents=True, exist_ok=True)
    return {
        # percent-encoded: SQLAlchemy decodes the path, which may hold `#`, `%`, `?` or spaces
        "uri": "sqlite:///" + quote(str(settings.data_dir / "catalog.db")),
        "warehouse": settings.warehouse,
    }


def catalog(settings: Settings | None = None) -> Catalog:
    """The `playground` Iceberg catalog for the current mode.

    Raises:
        ServiceUnavailable: in stack mode, the REST catalog or the object store is down.
    """
    settings = settings or get_settings()
    if settings.is_stack:
        s3, rest = urlsplit(settings.s3_endpoint), urlsplit(settings.catalog_uri)
        require_reachable(
            "Iceberg REST catalog", rest.hostname or "localhost", rest.port or 80, settings
        )
        require_reachable("object store (S3)", s3.hostname or "localhost", s3.port or 80, settings)
        return RestCatalog(settings.catalog_name, **catalog_properties(settings))
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


class ConcurrentWrite(RuntimeError):
    """Another writer committed to the same rows first; this write committed nothing."""


def write_window(
    identifier: str, data: pa.Table, column: str, start: datetime, end: datetime, cat: Catalog
) -> Table:
    """Replace the rows of one time window (`start <= column < end`) with `data`, in one commit.

    A new table is partitioned by month of `column`; the window is deleted and `data` appended in
    the same snapshot transaction, so readers see the old window or the new one.
    """
    namespace, _ = check_identifier(identifier)
    cat.create_namespace_if_not_exists(namespace)
    if not cat.table_exists(identifier):
        schema = iceberg_schema(data.schema)
        table = cat.create_table(
            identifier, schema=schema, partition_spec=partition_spec(schema, column)
        )
        table.append(data)
        return table

    table = cat.load_table(identifier)
    try:
        with table.transaction() as tx:
            if table.schema().as_arrow() != data.schema:
                with tx.update_schema() as update:
                    update.union_by_name(data.schema)
            window = window_filter(column, start, end, has_zone(data.schema, column))
            with quiet_empty_deletes():
                tx.overwrite(data, overwrite_filter=window)
    except (CommitFailedException, ValidationException) as exc:
        # PyIceberg retried; another writer changed the same window meanwhile and won
        raise ConcurrentWrite(
            f"{identifier}: another writer replaced [{start}, {end}) at the same time and "
            f"committed first ({exc}). This write committed nothing; run it again."
        ) from None
    return table


def _load(identifier: str, settings: Settings | None, cat: Catalog | None) -> Table:
    check_identifier(identifier)
    return (cat or catalog(settings)).load_table(identifier)


def append(
    identifier: str, data: pa.Table, settings: Settings | None = None, cat: Catalog | None = None
) -> Table:
    """Add rows to an existing table (one snapshot)."""
    table = _load(identifier, settings, cat)
    table.append(data)
    return table


def overwrite(
    identifier: str,
    data: pa.Table,
    where: str,
    settings: Settings | None = None,
    cat: Catalog | None = None,
) -> Table:
    """Replace the rows matching `where` (e.g. one partition) with `data`, in one commit.

    `where` is a PyIceberg filter expression such as
    "payment_date >= '2022-03-01T00:00:00+00:00' and payment_date < '2022-04-01T00:00:00+00:00'".
    """
    table = _load(identifier, settings, cat)
    table.overwrite(data, overwrite_filter=where)
    return table


def delete(
    identifier: str, where: str, settings: Settings | None = None, cat: Catalog | None = None
) -> Table:
    """Delete the rows matching the filter expression `where`."""
    table = _load(identifier, settings, cat)
    table.delete(delete_filter=where)
    return table


def upsert(
    identifier: str,
    data: pa.Table,
    key: list[str],
    settings: Settings | None = None,
    cat: Catalog | None = None,
) -> tuple[int, int]:
    """Update rows whose `key` columns match `data`, insert the others; (updated, inserted)."""
    table = _load(identifier, settings, cat)
    result = table.upsert(data, join_cols=key)
    return result.rows_updated, result.rows_inserted


def snapshots(
    identifier: str, settings: Settings | None = None, cat: Catalog | None = None
) -> list[dict]:
    """The table's history, oldest first: id, time, operation and row counts."""
    table = _load(identifier, settings, cat)

    def count(snapshot, key: str) -> int:
        return int((snapshot.summary and snapshot.summary.get(key)) or 0)

    return [
        {
            "snapshot_id": s.snapshot_id,
            "timestamp_ms": s.timestamp_ms,
            "operation": s.summary.operation.value if s.summary else None,
            "added_records": count(s, "added-records"),
            "deleted_records": count(s, "deleted-records"),
            "total_records": count(s, "total-records"),
        }
        for s in table.snapshots()
    ]


def read(
    identifier: str,
    snapshot_id: int | None = None,
    where: str | None = None,
    settings: Settings | None = None,
    cat: Catalog | None = None,
) -> pa.Table:
    """Read a table as Arrow, optionally as of a snapshot and filtered."""
    table = _load(identifier, settings, cat)
    scan = table.scan(snapshot_id=snapshot_id, row_filter=where or AlwaysTrue())
    return scan.to_arrow()


def metadata_location(
    identifier: str, settings: Settings | None = None, cat: Catalog | None = None
) -> str:
    """The current metadata file of a table, as DuckDB's `iceberg_scan` wants it."""
    location = _load(identifier, settings, cat).metadata_location
    return location.removeprefix("file://")


def register_duckdb_view(
    con: duckdb.DuckDBPyConnection,
    identifier: str,
    view: str | None = None,
    settings: Settings | None = None,
    snapshot_id: int | None = None,
    cat: Catalog | None = None,
) -> str:
    """Expose an Iceberg table in DuckDB as a view; returns the view name.

    The view pins the snapshot current now (or `snapshot_id`, for time travel); call again after
    the table changes. Time travel uses `snapshot_from_id`: DuckDB's `version =>` parameter
    silently returns current data for these tables.
    """
    _, table = check_identifier(identifier)
    view = view or table
    if not IDENTIFIER.match(view):
        raise ValueError(f"{view!r} is not a valid view name.")
    location = metadata_location(identifier, settings, cat).replace("'", "''")
    travel = f", snapshot_from_id => {int(snapshot_id)}" if snapshot_id is not None else ""
    # The view name matched IDENTIFIER, the path is quoted and the id is an int.
    con.execute(
        f'CREATE OR REPLACE VIEW "{view}" AS '  # noqa: S608
        f"SELECT * FROM iceberg_scan('{location}'{travel})"
    )
    return view
