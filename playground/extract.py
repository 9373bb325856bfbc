"""Stream a PostgreSQL table or query into an Iceberg table (or Parquet files) with bounded memory.

Every method writes Parquet data files under the target table's location first, then commits them
with one Iceberg transaction (`add_files`, plus a delete for replace/overwrite). A run that fails or
is killed before the commit leaves the catalog exactly as it was; running it twice leaves the same
rows (the default mode replaces the table).

Methods (`METHODS`), all yielding identical tables:
- `duckdb` (default): DuckDB's postgres_scanner reads the table in parallel and writes the Parquet
  files itself (`COPY ... TO`), never materializing the table in Python.
- `adbc`: the ADBC PostgreSQL driver streams Arrow record batches (binary COPY under the hood).
- `pandas-chunks`: `pandas.read_sql(chunksize=...)`, each chunk written and dropped.
- `pandas-concat`: `pd.concat(pd.read_sql(..., chunksize=...))`, the recipe of the original
  dagster-playground; memory grows with the table. Kept only as the cautionary baseline.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import resource
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import psycopg
import pyarrow as pa

from playground import duck, objectstore, pgtypes
from playground._names import check_identifier
from playground.settings import Settings, get_settings

# PyIceberg (with the catalog's SQLAlchemy), pyarrow.compute and pyarrow.parquet are imported
# lazily: the duckdb method starts copying first and loads them while DuckDB works, which keeps
# their import time (about a second of CPU) off the critical path.

METHODS = ("duckdb", "adbc", "pandas-chunks", "pandas-concat")
DEFAULT_METHOD = "duckdb"
MODES = ("replace", "append", "overwrite-partitions")
DEFAULT_BATCH_ROWS = 100_000
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
Progress = Callable[[str], None]


class ExtractError(RuntimeError):
    """An extraction cannot run; the message names the problem and what to do."""


@dataclass
class Result:
    identifier: str
    rows: int
    seconds: float
    method: str
    files: list[str] = field(default_factory=list)
    snapshot_id: int | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _source_query(table: str | None, query: str | None) -> tuple[str, str, str | None]:
    """(SQL to read, name for messages, table name if a plain table)."""
    if (table is None) == (query is None):
        raise ExtractError("give exactly one of a table (--table) or a query (--query)")
    if table is not None:
        if not _TABLE_NAME.match(table):
            raise ExtractError(f"{table!r} is not a table name (schema.table or table).")
        quoted = ".".join(f'"{part}"' for part in table.split("."))
        return f"select * from {quoted}", table, table  # noqa: S608 - checked and quoted
    return query.strip().rstrip(";"), "query", None


def _describe(source_url: str, read_sql: str, name: str) -> list[pgtypes.Column]:
    try:
        with psycopg.connect(source_url, connect_timeout=5) as conn:
            return pgtypes.describe(conn, read_sql, name)
    except psycopg.OperationalError as exc:
        raise ExtractError(
            f"cannot reach the source PostgreSQL: {str(exc).strip().splitlines()[0]}. Check the "
            "URL, or `playground doctor` for the configured one."
        ) from None
    except psycopg.errors.UndefinedTable as exc:
        raise ExtractError(f"{name}: {str(exc).splitlines()[0]}") from None
    except psycopg.Error as exc:
        raise ExtractError(f"{name}: {str(exc).strip().splitlines()[0]}") from None


def _partition_field_names(partition_column: str | None) -> list[str]:
    return [f"{partition_column}_month"] if partition_column else []


def _partition_spec(schema, partition_column: str | None):
    """Monthly partitioning on a column `extract()` has already checked (or none)."""
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.transforms import MonthTransform

    if not partition_column:
        return PartitionSpec()
    source_id = schema.find_field(partition_column).field_id
    (name,) = _partition_field_names(partition_column)
    return PartitionSpec(PartitionField(source_id, 1000, MonthTransform(), name), spec_id=0)


def _month_key(batch: pa.RecordBatch | pa.Table, column: str) -> pa.Array:
    import pyarrow.compute as pc

    values = batch.column(column)
    if pa.types.is_timestamp(values.type) and values.type.tz:
        values = pc.cast(values, pa.timestamp("us"))  # UTC wall time, as Iceberg's month() uses
    return pc.strftime(values, "%Y-%m")


class _ParquetSink:
    """Writes record batches to Parquet files, one open file per partition, rolling by rows."""

    def __init__(self, folder: str, schema: pa.Schema, fs, partition_column: str | None):
        self.folder, self.schema, self.fs = folder.rstrip("/"), schema, fs
        self.partition_column = partition_column
        self.writers: dict[str, tuple] = {}  # partition key -> (ParquetWriter, rows)
        self.files: list[str] = []
        self.rows = 0

    def _writer(self, key: str):
        import pyarrow.parquet as pq

        entry = self.writers.get(key)
        if entry is None or entry[1] >= 4_000_000:
            if entry is not None:
                entry[0].close()
            prefix = f"{self.folder}/{key}" if key else self.folder
            path = f"{prefix}/part-{len(self.files):05d}.parquet"
            self.fs.create_dir(prefix, recursive=True)
            writer = pq.ParquetWriter(path, self.schema, filesystem=self.fs)
            self.files.append(path)
            entry = (writer, 0)
        self.writers[key] = entry
        return entry[0]

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        import pyarrow.compute as pc

        batch = batch.cast(self.schema) if batch.schema != self.schema else batch
        if self.partition_column is None:
            groups = {"": batch}
        else:
            keys = _month_key(batch, self.partition_column)
            groups = {
                f"month={k}": batch.filter(pc.equal(keys, k)) for k in pc.unique(keys).to_pylist()
            }
        for key, part in groups.items():
            writer = self._writer(key)
            writer.write(part, row_group_size=256_000)
            self.writers[key] = (writer, self.writers[key][1] + part.num_rows)
        self.rows += batch.num_rows

    def close(self) -> None:
        for writer, _ in self.writers.values():
            writer.close()
        self.writers.clear()


def _cast_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Cast a batch to the mapped schema, unwrapping ADBC's opaque numeric strings."""
    import pyarrow.compute as pc

    arrays = []
    for name, target in zip(schema.names, schema.types, strict=True):
        column = batch.column(name)
        if isinstance(column.type, pa.ExtensionType):
            column = column.storage
        arrays.append(column if column.type == target else pc.cast(column, target))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _stream_adbc(url: str, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(url) as conn, conn.cursor() as cursor:
        cursor.adbc_statement.set_options(
            **{"adbc.postgresql.batch_size_hint_bytes": str(max(1, batch_rows) * 64)}
        )
        cursor.execute(sql)
        yield from cursor.fetch_record_batch()


def _pandas_engine(url: str):
    import sqlalchemy

    return sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _read_options(batch_rows: int) -> dict:
    # coerce_float=False keeps numerics as exact Decimal objects instead of floats.
    return {"chunksize": batch_rows, "coerce_float": False}


def _from_pandas(frame, schema: pa.Schema) -> pa.Table:
    """Arrow from a pandas chunk; bytea arrives as hex, bigint as text (postgres_projection)."""
    for name in (f.name for f in schema if f.type == pa.binary()):
        frame[name] = frame[name].map(lambda v: bytes.fromhex(v) if isinstance(v, str) else None)
    text_schema = pa.schema(
        [pa.field(f.name, pa.string()) if f.type == pa.int64() else f for f in schema]
    )
    return pa.Table.from_pandas(frame, schema=text_schema, preserve_index=False).cast(schema)


def _stream_pandas(url: str, sql: str, batch_rows: int, schema: pa.Schema):
    import pandas as pd
    import sqlalchemy

    engine = _pandas_engine(url)
    try:
        with engine.connect().execution_options(stream_results=True) as conn:
            for chunk in pd.read_sql(sqlalchemy.text(sql), conn, **_read_options(batch_rows)):
                yield _from_pandas(chunk, schema)
    finally:
        engine.dispose()


def _concat_pandas(url: str, sql: str, batch_rows: int, schema: pa.Schema):
    """The original recipe: every chunk is kept, then concatenated (memory grows with the table)."""
    import pandas as pd
    import sqlalchemy

    engine = _pandas_engine(url)
    try:
        with engine.connect() as conn:
            frame = pd.concat(pd.read_sql(sqlalchemy.text(sql), conn, **_read_options(batch_rows)))
    finally:
        engine.dispose()
    yield _from_pandas(frame, schema)


def _duckdb_copy(
    settings: Settings,
    source_url: str,
    read_sql: str,
    table: str | None,
    columns: list[pgtypes.Column],
    folder: str,
    partition_column: str | None,
    progress: Progress,
) -> list[tuple[str, int]]:
    """DuckDB reads PostgreSQL and writes the Parquet files itself; returns (file, rows) pairs."""
    con = duck.connect(settings=settings)
    try:
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET TimeZone = 'UTC'")  # month partitions in UTC, like Iceberg's transform
        dsn = psycopg.conninfo.make_conninfo("", **psycopg.conninfo.conninfo_to_dict(source_url))
        con.execute(
            f"ATTACH '{dsn.replace(chr(39), chr(39) * 2)}' AS source (TYPE postgres, READ_ONLY)"
        )
        if table is not None:
            parts = table.split(".")
            schema, name = parts if len(parts) == 2 else ["public", parts[0]]
            relation = f'source."{schema}"."{name}"'
        else:
            sql = pgtypes.postgres_projection(columns, read_sql).replace("'", "''")
            relation = f"postgres_query('source', '{sql}')"
        select = pgtypes.duckdb_projection(columns)
        if partition_column:
            month = f"strftime(CAST(\"{partition_column}\" AS TIMESTAMP), '%Y-%m') AS __month"
            select = f"{select}, {month}"
            options = "PARTITION_BY (__month)"
        else:
            options = "PER_THREAD_OUTPUT"
        # RETURN_STATS lists the files written with their row counts: no listing, no footer reads
        options = f"FORMAT parquet, {options}, FILENAME_PATTERN 'part-{{i}}', RETURN_STATS"
        target = folder.replace("'", "''")
        # progress is tracked only with the bar on; we print it ourselves instead of DuckDB
        con.execute("SET enable_progress_bar = true")
        con.execute("SET enable_progress_bar_print = false")
        done = threading.Event()
        watcher = threading.Thread(target=_report_progress, args=(con, done, progress), daemon=True)
        watcher.start()
        try:
            copy = f"COPY (SELECT {select} FROM {relation}) TO '{target}' ({options})"  # noqa: S608
            written = con.execute(copy).fetchall()
        finally:
            done.set()
            watcher.join()
    finally:
        con.close()
    return [(filename, count) for filename, count, *_ in written]


class _Background(threading.Thread):
    """Run a function in a thread (DuckDB releases the GIL) and re-raise its error on join()."""

    def __init__(self, function, *args) -> None:
        super().__init__(daemon=True)
        self.function, self.args, self.error, self.result = function, args, None, None
        self.start()

    def run(self) -> None:
        try:
            self.result = self.function(*self.args)
        except BaseException as exc:  # handed to the joining thread
            self.error = exc

    def join(self, timeout: float | None = None):
        """Wait, then return the function's result or raise its error."""
        super().join(timeout)
        if self.error is not None:
            raise self.error
        return self.result


def _open_catalog(settings: Settings, identifier: str, cat):
    from playground import lakehouse

    cat = cat or lakehouse.catalog(settings)
    return cat, cat.table_exists(identifier)


# What the catalog and the commit import (about a second of CPU), leaves first, so that stopping
# between two of them leaves little to finish.
_COMMIT_MODULES = (
    "pydantic", "sqlalchemy", "sqlalchemy.orm", "pyiceberg.schema", "pyiceberg.manifest",
    "pyiceberg.table", "pyiceberg.catalog", "pyiceberg.catalog.sql", "pandas", "pyarrow.dataset",
    "pyiceberg.io.pyarrow",
)  # fmt: skip


def _preload_commit_modules(stop: threading.Event) -> None:
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


def _report_progress(con, done: threading.Event, progress: Progress) -> None:
    """Print DuckDB's own estimate of the running COPY every 2 s (it may say -1 when unknown)."""
    started = time.monotonic()
    while not done.wait(2.0):
        percent = con.query_progress()
        if percent >= 0:
            progress(f"  {percent:5.1f} % after {time.monotonic() - started:5.1f} s")


def _month_filter(column: str, months: list[str]):
    from pyiceberg.expressions import And, GreaterThanOrEqual, LessThan, Or

    clauses = []
    for month in months:
        year, number = map(int, month.split("-"))
        upper = f"{year + number // 12}-{number % 12 + 1:02d}-01T00:00:00+00:00"
        clauses.append(
            And(
                GreaterThanOrEqual(column, f"{month}-01T00:00:00+00:00"),
                LessThan(column, upper),
            )
        )
    return clauses[0] if len(clauses) == 1 else Or(*clauses)


def extract(
    to: str,
    table: str | None = None,
    query: str | None = None,
    source: str | None = None,
    method: str = DEFAULT_METHOD,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    partition_by: str | None = None,
    mode: str = "replace",
    settings: Settings | None = None,
    progress: Progress = print,
    cat=None,
) -> Result:
    """Extract `table` or `query` from PostgreSQL into the Iceberg table `to` (namespace.table).

    Args:
        source: a postgresql:// URL; default the configured pagila database.
        method: one of METHODS.
        batch_rows: rows per batch (Python-side methods); memory grows with it, not the table.
        partition_by: `COLUMN:month` partitions the target by month of a timestamp column.
        mode: "replace" the table's rows, "append" to them, or "overwrite-partitions" (replace
            only the months present in the new data).
    """
    from playground import postgres

    started = time.monotonic()
    settings = settings or get_settings()
    if method not in METHODS:
        raise ExtractError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    if mode not in MODES:
        raise ExtractError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}.")
    if batch_rows < 1:
        raise ExtractError("--batch-rows must be at least 1.")
    try:
        namespace, name = check_identifier(to)
    except ValueError as exc:
        raise ExtractError(str(exc)) from None
    read_sql, source_name, plain_table = _source_query(table, query)
    source_url = source or postgres.url(settings.pagila_db, settings)
    columns = _describe(source_url, read_sql, source_name)
    schema = pgtypes.arrow_schema(columns)
    partition_column = None
    if partition_by:
        partition_column, _, transform = partition_by.partition(":")
        types = {c.name: c.arrow for c in columns}
        if transform != "month":
            raise ExtractError(f"--partition-by {partition_by!r}: only COLUMN:month is supported.")
        if partition_column not in types:
            raise ExtractError(f"--partition-by: the source has no column {partition_column!r}.")
        kind = types[partition_column]
        if not (pa.types.is_timestamp(kind) or pa.types.is_date(kind)):
            raise ExtractError(
                f"--partition-by: {partition_column!r} is not a date or timestamp column."
            )
    if mode == "overwrite-partitions" and not partition_by:
        raise ExtractError("mode overwrite-partitions needs --partition-by COLUMN:month.")

    # New files go under PyIceberg's default location for the table; add_files accepts any
    # path, so this needs no catalog lookup before the copy starts.
    location = f"{settings.warehouse.rstrip('/')}/{namespace}/{name}"
    fs, base = objectstore.filesystem(settings, location)
    folder = f"{base}/data/extract-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    progress(f"extracting {source_name} into {to} with {method} ({len(columns)} columns)")
    try:
        fs.create_dir(folder, recursive=True)
        if method == "duckdb":
            copy = _Background(
                _duckdb_copy, settings, source_url, read_sql, plain_table, columns,
                ("s3://" + folder) if location.startswith("s3://") else folder, partition_column,
                progress,
            )  # fmt: skip
            copied = threading.Event()
            threading.Thread(target=_preload_commit_modules, args=(copied,), daemon=True).start()
            try:
                written = copy.join()
            finally:
                copied.set()
            cat, exists = _open_catalog(settings, to, cat)
            files = sorted(f.removeprefix("s3://") for f, _ in written)
            rows = sum(count for _, count in written)
        else:
            cat, exists = _open_catalog(settings, to, cat)
            sink = _ParquetSink(folder, schema, fs, partition_column)
            projected = pgtypes.postgres_projection(
                columns, read_sql, for_pandas=method.startswith("pandas")
            )
            if method == "adbc":
                batches = (
                    _cast_batch(b, schema) for b in _stream_adbc(source_url, projected, batch_rows)
                )
            elif method == "pandas-chunks":
                batches = _stream_pandas(source_url, projected, batch_rows, schema)
            else:
                batches = _concat_pandas(source_url, projected, batch_rows, schema)
            last = time.monotonic()
            try:
                for batch in batches:
                    sink.write(batch)
                    if time.monotonic() - last > 2:
                        elapsed = time.monotonic() - started
                        progress(f"  {sink.rows:>12,} rows  {sink.rows / elapsed:>10,.0f} rows/s")
                        last = time.monotonic()
            finally:
                sink.close()
            files, rows = sink.files, sink.rows
        uris = [("s3://" + f) if location.startswith("s3://") else f for f in files]
        snapshot_id = _commit(cat, to, exists, location, schema, uris, mode, partition_column)
    except BaseException:
        fs.delete_dir_contents(folder, missing_dir_ok=True)
        try:
            fs.delete_dir(folder)
        except OSError:
            pass
        raise
    result = Result(to, rows, time.monotonic() - started, method, uris, snapshot_id)
    progress(
        f"{rows:,} rows into {to} in {result.seconds:.2f} s ({result.rows_per_second:,.0f} rows/s, "
        f"peak RSS {peak_rss_bytes() / 2**20:.0f} MB)"
    )
    return result


def _commit(cat, identifier, exists, location, schema, files, mode, partition_column) -> int | None:
    """One Iceberg transaction: delete what is replaced, add the new files."""
    from pyiceberg.expressions import AlwaysTrue

    from playground import lakehouse

    if not exists:
        namespace = identifier.split(".")[0]
        cat.create_namespace_if_not_exists(namespace)
        new_schema = lakehouse.iceberg_schema(schema)
        spec = _partition_spec(new_schema, partition_column)
        tx = cat.create_table_transaction(
            identifier, schema=new_schema, location=location, partition_spec=spec
        )
        if files:
            tx.add_files(files, check_duplicate_files=False)
        table = tx.commit_transaction()
        snapshot = table.current_snapshot()
        return snapshot.snapshot_id if snapshot else None
    table = cat.load_table(identifier)
    if [f.name for f in table.spec().fields] != _partition_field_names(partition_column):
        wanted = f"{partition_column}:month" if partition_column else "none"
        raise ExtractError(
            f"{identifier} exists with partitioning {table.spec()}, not {wanted}; "
            "extract into another table or drop this one first."
        )
    with table.transaction() as tx:
        if table.schema().as_arrow() != schema:
            with tx.update_schema() as update:
                update.union_by_name(schema)
        if mode == "replace":
            tx.delete(AlwaysTrue())
        elif mode == "overwrite-partitions":
            months = sorted({p.split("month=")[1].split("/")[0] for p in files if "month=" in p})
            if months:
                tx.delete(_month_filter(partition_column, months))
        if files:
            tx.add_files(files, check_duplicate_files=False)
    snapshot = cat.load_table(identifier).current_snapshot()
    return snapshot.snapshot_id if snapshot else None
