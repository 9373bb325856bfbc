"""Stream a PostgreSQL table or query into an Iceberg table (or Parquet files) with bounded memory.

Every method writes Parquet data files under the target table's location first, then commits them
with one Iceberg transaction (`add_files`, plus a delete for replace/overwrite). A run that fails or
is killed before the commit leaves the catalog exactly as it was; running it twice leaves the same
rows (the default mode replaces the table). The row count reported is the one the commit's snapshot
records, and a run whose files hold fewer rows than were read fails before committing.

Methods (`METHODS`), all yielding identical tables:
- `duckdb` (default): DuckDB's postgres_scanner reads the table in parallel and writes the Parquet
  files itself (`COPY ... TO`), never materializing the table in Python.
- `adbc`: the ADBC PostgreSQL driver streams Arrow record batches (binary COPY under the hood).
- `pandas-chunks`: `pandas.read_sql(chunksize=...)`, each chunk written and dropped.
- `pandas-concat`: `pd.concat(pd.read_sql(..., chunksize=...))`, the recipe of the original
  dagster-playground; memory grows with the table. Kept only as the cautionary baseline.

The read backends live in `readers`, the Parquet sink in `sink` and the Iceberg commit in
`commit` (all in this folder).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa

from playground.config.names import check_identifier
from playground.config.settings import Settings, get_settings
from playground.extract import commit, pgtypes, stage
from playground.extract.errors import ExtractError
from playground.extract.source import check_source, describe, read_failed, source_query
from playground.lakehouse import objectstore
from playground.lakehouse.staging import staging_folder_name
from playground.services import postgres
from playground.services.processes import peak_rss

# PyIceberg (with the catalog's SQLAlchemy), pyarrow.compute and pyarrow.parquet are imported
# lazily: the duckdb method starts copying first and loads them while DuckDB works, which keeps
# their import time (about a second of CPU) off the critical path.

METHODS = ("duckdb", "adbc", "pandas-chunks", "pandas-concat")
DEFAULT_METHOD = "duckdb"
MODES = ("replace", "append", "overwrite-partitions")
DEFAULT_BATCH_ROWS = 100_000
Progress = Callable[[str], None]


@dataclass
class Result:
    identifier: str
    rows: int
    seconds: float
    method: str
    files: list[str] = field(default_factory=list)
    snapshot_id: int | None = None
    schema: pa.Schema | None = None  # of the rows read

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _check_partitioning(partition_by: str | None, mode: str, columns) -> str | None:
    if mode == "overwrite-partitions" and not partition_by:
        raise ExtractError("mode overwrite-partitions needs --partition-by COLUMN:month.")
    if not partition_by:
        return None
    partition_column, _, transform = partition_by.partition(":")
    types = {c.name: c.arrow for c in columns}
    if transform != "month":
        raise ExtractError(f"--partition-by {partition_by!r}: only COLUMN:month is supported.")
    if partition_column not in types:
        dated = [n for n, k in types.items() if pa.types.is_timestamp(k) or pa.types.is_date(k)]
        raise ExtractError(
            f"--partition-by: the source has no column {partition_column!r}; partition by one "
            f"of its date or timestamp columns ({', '.join(dated) or 'it has none'}), or by none."
        )
    kind = types[partition_column]
    if not (pa.types.is_timestamp(kind) or pa.types.is_date(kind)):
        raise ExtractError(
            f"--partition-by: {partition_column!r} is not a date or timestamp column."
        )
    return partition_column


def _open_catalog(settings: Settings, cat):
    # lazy: PyIceberg (about a second) is imported by a thread while DuckDB copies (see commit)
    from playground import lakehouse

    return cat or lakehouse.catalog(settings)


def _check_names(columns, name: str) -> None:
    """Refuse a source whose column names repeat, exactly or but for case (DuckDB and Trino
    do not tell "A" from "a")."""
    seen: dict[str, str] = {}
    for column in columns:
        other = seen.setdefault(column.name.lower(), column.name)
        if other == column.name and [c.name for c in columns].count(other) > 1:
            raise ExtractError(
                f"{name} returns the column {other} more than once; give each column its own "
                "name (e.g. `select 1 as a, 2 as b`)."
            )
        if other != column.name:
            raise ExtractError(
                f'{name}: the columns "{other}" and "{column.name}" differ only by case, which '
                "DuckDB and Trino cannot tell apart; give one of them another name (e.g. "
                f'`select "{column.name}" as {column.name.lower()}_2`).'
            )


def _check_arguments(method: str, mode: str, batch_rows: int, to: str) -> tuple[str, str]:
    """(namespace, table) of `to`, once every argument is one extract() accepts."""
    if method not in METHODS:
        raise ExtractError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    if mode not in MODES:
        raise ExtractError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}.")
    if batch_rows < 1:
        raise ExtractError("--batch-rows must be at least 1.")
    try:
        return check_identifier(to)
    except ValueError as exc:
        raise ExtractError(str(exc)) from None


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
    months: list[str] | None = None,
) -> Result:
    """Extract `table` or `query` from PostgreSQL into the Iceberg table `to` (namespace.table).

    Args:
        source: a postgresql:// URL; default the configured pagila database.
        method: one of METHODS.
        batch_rows: rows per batch (Python-side methods); memory grows with it, not the table.
        partition_by: `COLUMN:month` partitions the target by month of a timestamp column.
        mode: "replace" the table's rows, "append" to them, or "overwrite-partitions" (replace
            only the months present in the new data).
        months: with overwrite-partitions, the months (`YYYY-MM`) to replace, whatever the new
            data holds: a month the source no longer has is emptied. The read should select only
            these months (the commit replaces them, it does not filter what was read).
        cat: an open catalog to reuse (a pipeline opens it once for every table).

    Raises:
        ExtractError: a bad argument, an unreachable source, or a value the lakehouse cannot
            hold (`fidelity`); nothing was committed.
    """
    started = time.monotonic()
    settings = settings or get_settings()
    namespace, name = _check_arguments(method, mode, batch_rows, to)
    read_sql, source_name, plain_table = source_query(table, query)
    source_url = check_source(source) if source else postgres.url(settings.pagila_db, settings)
    columns, identity = describe(source_url, read_sql, source_name, given=bool(source))
    _check_names(columns, source_name)
    partition_column = _check_partitioning(partition_by, mode, columns)
    if months is not None and mode != "overwrite-partitions":
        raise ExtractError("months= applies only to mode overwrite-partitions.")
    read = stage.Read(method, settings, source_url, read_sql, plain_table, source_name, columns,
                      partition_column, batch_rows)  # fmt: skip
    progress(f"extracting {source_name} into {to} with {method} ({len(columns)} columns)")
    location = f"{settings.warehouse.rstrip('/')}/{namespace}/{name}"
    committed, uris, rows = _stage_and_commit(read, identity, to, location, mode, months, cat,
                                              progress, started)  # fmt: skip
    schema = pgtypes.arrow_schema(columns)
    return _result(committed, to, uris, rows, started, method, schema, progress)


def _stage_and_commit(read: stage.Read, identity, to, location, mode, months, cat, progress,
                      started):  # fmt: skip
    """(the committed table, the files added, rows read); the staged files go on failure.

    New files go under PyIceberg's default location for the table; add_files accepts any path,
    so this needs no catalog lookup before the copy starts. The folder names this process so
    that `playground clean` can tell a live run's files from a killed run's.
    """
    fs, base = objectstore.filesystem(read.settings, location)
    folder = f"{base}/data/{staging_folder_name()}"
    scheme = "s3://" if location.startswith("s3://") else ""
    try:
        fs.create_dir(folder, recursive=True)
        try:
            staged = stage.stage(read, fs, scheme, folder, progress, started)
        except BaseException as exc:
            explained = read_failed(read.source_url, identity, exc)
            if explained is not None:
                raise explained from None
            raise
        if mode == "overwrite-partitions" and months is None:
            months = sorted(staged.months)
        uris = [scheme + f for f in staged.files]
        cat = _open_catalog(read.settings, cat)
        return _commit(cat, to, location, read, uris, mode, months), uris, staged.rows
    except BaseException:
        fs.delete_dir_contents(folder, missing_dir_ok=True)
        try:
            fs.delete_dir(folder)
        except OSError:
            pass
        raise


def _commit(cat, to, location, read: stage.Read, uris, mode, months):
    schema = pgtypes.arrow_schema(read.columns)
    try:
        return commit.commit(cat, to, location, schema, uris, mode, read.partition_column, months)
    except commit.CommitConflict as exc:
        raise ExtractError(
            f"another writer committed to {to} at the same time, twice ({exc}); this run "
            "committed nothing. Run it again once the other writer is done."
        ) from None


def _result(committed, to, uris, rows, started, method, schema, progress) -> Result:
    committed_rows = commit.committed_rows(committed, uris)
    if committed_rows != rows:
        raise ExtractError(
            f"{to}: the commit recorded {committed_rows:,} new rows, but {rows:,} were read."
        )
    snapshot = committed.current_snapshot()
    snapshot_id = snapshot.snapshot_id if snapshot else None
    elapsed = time.monotonic() - started
    result = Result(to, committed_rows, elapsed, method, uris, snapshot_id, schema)
    progress(
        f"{result.rows:,} rows into {to} in {result.seconds:.2f} s "
        f"({result.rows_per_second:,.0f} rows/s, peak RSS {peak_rss() / 2**20:.0f} MB)"
    )
    return result
