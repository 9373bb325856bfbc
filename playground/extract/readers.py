"""The read side of `playground extract`: one backend per method, all yielding the same rows.

- `duckdb_copy`: DuckDB's postgres_scanner reads in parallel and writes the Parquet files itself.
- `batches`: Arrow record batches for the Python-side methods (ADBC, pandas chunks, pandas concat),
  cast to the mapped schema, for `ParquetSink` to write.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import duckdb
import psycopg
import pyarrow as pa

from playground.config.months import NULL_MONTH
from playground.config.names import quote
from playground.config.settings import Settings
from playground.engines import duck
from playground.extract import pgtypes

Progress = Callable[[str], None]


def _cast_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Cast a batch to the mapped schema, unwrapping ADBC's opaque numeric strings."""
    import pyarrow.compute as pc  # lazy: only casts need it

    arrays = []
    for name, target in zip(schema.names, schema.types, strict=True):
        column = batch.column(name)
        if isinstance(column.type, pa.ExtensionType):
            column = column.storage
        arrays.append(column if column.type == target else pc.cast(column, target))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _stream_adbc(
    url: str, sql: str, batch_rows: int, schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    import adbc_driver_postgresql.dbapi as adbc  # lazy: each method imports only its own reader

    with adbc.connect(url) as conn, conn.cursor() as cursor:
        cursor.adbc_statement.set_options(
            **{"adbc.postgresql.batch_size_hint_bytes": str(max(1, batch_rows) * 64)}
        )
        cursor.execute(sql)
        for batch in cursor.fetch_record_batch():
            yield _cast_batch(batch, schema)


def _pandas_engine(url: str):
    import sqlalchemy  # lazy: each method imports only its own reader

    # the session in UTC (the time rule): psycopg turns a timestamptz into the session's wall
    # time, and year 9999's last instant is year 10000 east of UTC, year 1's first is BC west of it
    return sqlalchemy.create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1),
        connect_args={"options": "-c TimeZone=UTC"},
    )


def _read_options(batch_rows: int) -> dict:
    # coerce_float=False keeps numerics as exact Decimal objects instead of floats.
    return {"chunksize": batch_rows, "coerce_float": False}


def _from_pandas(frame, schema: pa.Schema) -> pa.Table:
    """Arrow from a pandas chunk; bytea arrives as hex, bigint and floats as text
    (`pgtypes.postgres_projection`)."""
    for name in (f.name for f in schema if f.type == pa.binary()):
        frame[name] = frame[name].map(lambda v: bytes.fromhex(v) if isinstance(v, str) else None)
    text_schema = pgtypes.pandas_text_schema(schema)
    return pa.Table.from_pandas(frame, schema=text_schema, preserve_index=False).cast(schema)


def _stream_pandas(url: str, sql: str, batch_rows: int, schema: pa.Schema):
    # lazy: each method imports only its own reader (pandas and SQLAlchemy: about 0.5 s)
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
    # lazy: each method imports only its own reader (pandas and SQLAlchemy: about 0.5 s)
    import pandas as pd
    import sqlalchemy

    engine = _pandas_engine(url)
    try:
        with engine.connect() as conn:
            frame = pd.concat(pd.read_sql(sqlalchemy.text(sql), conn, **_read_options(batch_rows)))
    finally:
        engine.dispose()
    yield _from_pandas(frame, schema)


def batches(method: str, url: str, sql: str, batch_rows: int, schema: pa.Schema):
    """Record batches of `sql` (already projected by `pgtypes.postgres_projection`): a generator
    whose `close()` closes its connection (a caller stopped by an error must close it, or the
    connection stays open in its transaction, holding its locks, for as long as the error lives)."""
    if method == "adbc":
        return _stream_adbc(url, sql, batch_rows, schema)
    if method == "pandas-chunks":
        return _stream_pandas(url, sql, batch_rows, schema)
    return _concat_pandas(url, sql, batch_rows, schema)


def _report_progress(done: threading.Event, written: Callable[[], int], progress: Progress):
    """Every 2 s, how much the running COPY has written (DuckDB's own estimate stalls on it)."""
    started = time.monotonic()
    while not done.wait(2.0):
        try:
            size = written()
        except OSError:
            continue
        progress(f"  {size / 2**20:10,.1f} MB written after {time.monotonic() - started:5.1f} s")


def duckdb_copy(
    settings: Settings,
    source_url: str,
    read_sql: str,
    table: str | None,
    columns: list[pgtypes.Column],
    folder: str,
    partition_column: str | None,
    progress: Progress,
    written: Callable[[], int],
) -> list[tuple[str, int]]:
    """DuckDB reads PostgreSQL and writes the Parquet files itself.

    Returns:
        (file, rows, month) for each file: `YYYY-MM` or NULL_MONTH, None when unpartitioned.
    """
    con = _shared_duckdb(settings).cursor()
    source = f"source_{uuid.uuid4().hex[:12]}"  # one attachment per extraction
    try:
        dsn = psycopg.conninfo.make_conninfo("", **psycopg.conninfo.conninfo_to_dict(source_url))
        duck.attach_postgres(con, dsn, source, settings)
        if table is not None:
            parts = table.split(".")
            schema, name = parts if len(parts) == 2 else ["public", parts[0]]
            relation = f'{source}."{schema}"."{name}"'
        else:
            sql = pgtypes.postgres_projection(columns, read_sql)
            relation = f"postgres_query('{source}', {duck.literal(sql)})"
        select = pgtypes.duckdb_projection(columns)
        alias = month_alias(columns)
        if partition_column:
            value = f"CAST({quote(partition_column)} AS TIMESTAMP)"
            select = f"{select}, strftime({value}, '%Y-%m') AS {alias}"
            options = f"PARTITION_BY ({alias})"
        else:
            options = "PER_THREAD_OUTPUT"
        # RETURN_STATS lists the files written with their row counts: no listing, no footer reads
        options = f"FORMAT parquet, {options}, FILENAME_PATTERN 'part-{{i}}', RETURN_STATS"
        done = threading.Event()
        args = (done, written, progress)
        watcher = threading.Thread(target=_report_progress, args=args, daemon=True)
        watcher.start()
        try:
            target = duck.literal(folder)
            copy = f"COPY (SELECT {select} FROM {relation}) TO {target} ({options})"  # noqa: S608
            result = con.execute(copy).fetchall()
        finally:
            done.set()
            watcher.join()
    finally:
        try:
            con.execute(f"DETACH DATABASE IF EXISTS {source}")
        finally:
            con.close()
    if not partition_column:
        return [(filename, count, None) for filename, count, *_ in result]
    return [(filename, count, (keys or {}).get(alias) or NULL_MONTH)
            for filename, count, _, _, _, keys in result]  # fmt: skip


def month_alias(columns: list[pgtypes.Column]) -> str:
    """A name for the partition key DuckDB writes beside the columns: `__month`, or with more
    leading underscores until no source column has it (DuckDB ignores case)."""
    taken = {c.name.lower() for c in columns}
    alias = "__month"
    while alias in taken:
        alias = "_" + alias
    return alias


_shared: dict[tuple, duckdb.DuckDBPyConnection] = {}
_shared_lock = threading.Lock()


def _shared_duckdb(settings: Settings) -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per process (and object store) for every extraction.

    Loading the extensions costs about 0.2 s per DuckDB instance; a pipeline extracting fifteen
    tables pays it once. Each extraction uses its own cursor and its own attachment.
    """
    key = (settings.is_stack, settings.s3_endpoint, settings.s3_access_key,
           settings.s3_secret_key, settings.s3_region)  # fmt: skip
    with _shared_lock:
        if key not in _shared:
            con = duck.connect(":memory:", settings, extensions=("postgres_scanner", "httpfs"))
            con.execute("SET preserve_insertion_order = false")
            _shared[key] = con
        return _shared[key]
