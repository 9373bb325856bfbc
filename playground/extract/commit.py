"""The commit side of `playground extract`: staged Parquet files into one Iceberg transaction.

Replace deletes every row, overwrite-partitions deletes the months (and the null partition) the
new files hold, append deletes nothing; the new files are added in the same commit. A commit that
loses a race with another writer is retried once against the new state of the table.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading

import pyarrow as pa

from playground.extract.errors import ExtractError
from playground.lakehouse.specs import (
    iceberg_schema,
    months_filter,
    partition_field_names,
    partition_spec,
    quiet_empty_deletes,
)

# What the catalog and the commit import (about a second of CPU), leaves first, so that stopping
# between two of them leaves little to finish.
_COMMIT_MODULES = (
    "pydantic", "sqlalchemy", "sqlalchemy.orm", "pyiceberg.schema", "pyiceberg.manifest",
    "pyiceberg.table", "pyiceberg.catalog", "pyiceberg.catalog.sql", "pandas", "pyarrow.dataset",
    "pyiceberg.io.pyarrow",
)  # fmt: skip


class CommitConflict(RuntimeError):
    """Another writer committed to the table twice while this run tried to."""


def preload_commit_modules(stop: threading.Event) -> None:
    """Import the commit's modules while DuckDB copies, on cycles the copy leaves unused.

    The thread runs at idle CPU priority (Linux schedules threads as tasks, so this thread only)
    and stops once the copy is done; the main thread then imports whatever is left at normal
    priority. On two cores this takes the import off the copy's back: ~0.5 s of an 8M-row run.
    """
    if hasattr(os, "sched_setscheduler"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))
    for module in _COMMIT_MODULES:
        if stop.is_set():
            return
        importlib.import_module(module)


def _create(cat, identifier, location, schema, files, partition_column):
    cat.create_namespace_if_not_exists(identifier.split(".")[0])
    new_schema = iceberg_schema(schema)
    spec = partition_spec(new_schema, partition_column)
    tx = cat.create_table_transaction(
        identifier, schema=new_schema, location=location, partition_spec=spec
    )
    if files:
        tx.add_files(files, check_duplicate_files=False)
    return tx.commit_transaction()


def _replace_rows(cat, identifier, schema, files, mode, partition_column, months):
    # lazy, like every PyIceberg import here: preload_commit_modules imports them during the copy
    from pyiceberg.expressions import AlwaysTrue

    table = cat.load_table(identifier)
    if [f.name for f in table.spec().fields] != partition_field_names(partition_column):
        wanted = f"{partition_column}:month" if partition_column else "none"
        raise ExtractError(
            f"{identifier} exists with partitioning {table.spec()}, not {wanted}; "
            "extract into another table or drop this one first."
        )
    current = table.schema().as_arrow()
    gone = [name for name in current.names if name not in schema.names]
    if gone and mode != "replace":
        raise ExtractError(
            f"{identifier}: the source no longer has column(s) {', '.join(gone)} (dropped or "
            f"renamed); mode {mode} keeps the table's other rows, which have them. Nothing was "
            "committed. Replace the whole table (mode replace; in the pipeline: materialize "
            "every month) so it follows the source, or drop the table."
        )
    with table.transaction() as tx:
        if current != schema:
            _evolve(tx, identifier, schema, gone)
        if mode == "replace":
            tx.delete(AlwaysTrue())
        elif mode == "overwrite-partitions" and months:
            kind = schema.field(partition_column).type
            with quiet_empty_deletes():
                tx.delete(months_filter(partition_column, months, kind))
        if files:
            tx.add_files(files, check_duplicate_files=False)
    return table  # the commit updated its metadata: no second catalog round trip


def _evolve(tx, identifier: str, schema: pa.Schema, gone: list[str]) -> None:
    """Follow the source's columns: drop the ones it no longer has (`gone`: a replace rewrites
    every row, so a renamed column is renamed here too, never left as NULLs), add its new ones;
    refuse a type Iceberg cannot change (nothing committed)."""
    from pyiceberg.exceptions import ValidationError  # lazy: see _replace_rows

    try:
        with tx.update_schema() as update:
            for name in gone:
                update.delete_column(name)
            update.union_by_name(schema)
    except ValidationError as exc:
        # e.g. "Cannot change column type: last_update: timestamptz -> string"
        raise ExtractError(
            f"{identifier}: the source changed a column's type in a way Iceberg cannot follow "
            f"({str(exc).removeprefix('Cannot change column type: ')}, lakehouse -> source). "
            "Nothing was committed. Extract into a new table, or drop this one to start over."
        ) from None


def commit(
    cat, identifier, location, schema: pa.Schema, files, mode, partition_column, months=None
):
    """One Iceberg transaction; returns the table as committed (its current snapshot is ours).

    `months` (overwrite-partitions): the months to replace (`YYYY-MM` or NULL_MONTH).

    Raises:
        CommitConflict: another writer won twice in a row; nothing of this run was committed.
    """
    from pyiceberg.exceptions import (  # lazy: see _replace_rows
        CommitFailedException,
        TableAlreadyExistsError,
        ValidationException,
    )

    # ValidationException: PyIceberg's conflict check saw a concurrent delete of our rows
    conflicts = (CommitFailedException, TableAlreadyExistsError, ValidationException)
    for attempt in (1, 2):
        try:
            if not cat.table_exists(identifier):
                return _create(cat, identifier, location, schema, files, partition_column)
            return _replace_rows(cat, identifier, schema, files, mode, partition_column, months)
        except conflicts as exc:
            if attempt == 2:
                raise CommitConflict(str(exc).splitlines()[0]) from None
    raise AssertionError("unreachable")


def committed_rows(table, files: list[str]) -> int:
    """Rows this commit added, from the snapshot summary the catalog now holds."""
    snapshot = table.current_snapshot()
    if not files or snapshot is None or snapshot.summary is None:
        return 0
    return int(snapshot.summary["added-records"] or 0)
