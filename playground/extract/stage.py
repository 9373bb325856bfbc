"""The read half of `playground extract`: the source's rows staged as Parquet files, checked.

`stage()` runs one read method (`readers`) into a folder under the table's location while
PostgreSQL looks for values the lakehouse cannot hold (`fidelity.watch`); a read that found one
fails before anything is committed, naming it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pyarrow import fs as pafs

from playground.extract import commit, fidelity, pgtypes, readers
from playground.extract.errors import ExtractError
from playground.extract.sink import ParquetSink

Progress = Callable[[str], None]


@dataclass
class Staged:
    files: list[str]  # paths inside the object store's filesystem (no scheme)
    rows: int
    months: set[str]  # the partitions the files hold (`YYYY-MM`, or NULL_MONTH); empty if none


@dataclass
class Read:
    """What to read and how: the method, the source and the mapped columns."""

    method: str
    settings: object
    source_url: str
    read_sql: str
    table: str | None  # the plain table read, if any
    relation: str  # the source's name in messages
    columns: list[pgtypes.Column]
    partition_column: str | None
    batch_rows: int


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


def _folder_bytes(fs, folder: str) -> Callable[[], int]:
    def size() -> int:
        selector = pafs.FileSelector(folder, recursive=True, allow_not_found=True)
        return sum(info.size or 0 for info in fs.get_file_info(selector))

    return size


def stage(read: Read, fs, scheme: str, folder: str, progress: Progress, started: float) -> Staged:
    """Stage the source's rows as Parquet files in `folder`, or fail naming a value the lakehouse
    cannot hold (then the caller removes the folder)."""
    watch = fidelity.watch(read.source_url, read.read_sql, read.columns, read.table, read.relation)
    try:
        staged = _stage(read, fs, scheme, folder, progress, started)
    except BaseException as exc:
        if watch is not None:
            if not isinstance(exc, Exception):  # interrupted: stop looking
                watch.stop()
            elif (refused := watch.refusal(read_failed=True)) is not None:
                raise refused from None  # e.g. pandas' "date too small": the value, named
        raise
    if watch is not None and (refused := watch.refusal()) is not None:
        raise refused
    return staged


def _stage(read: Read, fs, scheme, folder, progress, started) -> Staged:
    if read.method == "duckdb":
        copying = _Background(
            readers.duckdb_copy, read.settings, read.source_url, read.read_sql, read.table,
            read.columns, scheme + folder, read.partition_column, progress,
            _folder_bytes(fs, folder),
        )  # fmt: skip
        copied = threading.Event()
        preload = commit.preload_commit_modules
        threading.Thread(target=preload, args=(copied,), daemon=True).start()
        try:
            written = copying.join()
        finally:
            copied.set()
        files = sorted(f.removeprefix("s3://") for f, _, _ in written)
        months = {month for _, _, month in written if month is not None}
        return Staged(files, sum(count for _, count, _ in written), months)
    return _stage_batches(read, fs, folder, progress, started)


def _stage_batches(read: Read, fs, folder, progress, started) -> Staged:
    schema = pgtypes.arrow_schema(read.columns)
    sink = ParquetSink(folder, schema, fs, read.partition_column)
    pandas = read.method.startswith("pandas")
    projected = pgtypes.postgres_projection(read.columns, read.read_sql, for_pandas=pandas)
    last = time.monotonic()
    stream = readers.batches(read.method, read.source_url, projected, read.batch_rows, schema)
    try:
        for batch in stream:
            sink.write(batch)
            if time.monotonic() - last > 2:
                rate = sink.rows_read / (time.monotonic() - started)
                progress(f"  {sink.rows_read:>12,} rows  {rate:>10,.0f} rows/s")
                last = time.monotonic()
    finally:
        stream.close()  # its connection: never left open in a transaction by an error
        sink.close()
    if sink.rows_written != sink.rows_read:
        raise ExtractError(
            f"{sink.rows_read:,} rows were read but {sink.rows_written:,} written; nothing "
            "was committed."
        )
    return Staged(sink.files, sink.rows_written, sink.months)
