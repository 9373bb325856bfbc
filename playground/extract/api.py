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

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
import pyarrow as pa

from playground.config.names import check_identifier
from playground.config.secrets import scrub
from playground.config.settings import Settings, get_settings
from playground.extract import commit, pgtypes, stage
from playground.extract.errors import ExtractError
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
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
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


def _source_query(table: str | None, query: str | None) -> tuple[str, str, str | None]:
    """(SQL to read, name for messages, table name if a plain table)."""
    if (table is None) == (query is None):
        raise ExtractError("give exactly one of a table (--table) or a query (--query)")
    if table is not None:
        if not _TABLE_NAME.match(table):
            raise ExtractError(f"{table!r} is not a table name (schema.table or table).")
        quoted = ".".join(f'"{part}"' for part in table.split("."))
        return f"select * from {quoted}", table, table  # noqa: S608 - checked and quoted
    sql = query.strip()
    while True:  # trailing semicolons and `-- comments` (one without quotes: not in a string)
        trimmed = re.sub(r"--[^'\"\n]*$", "", sql).rstrip().rstrip(";").rstrip()
        if trimmed == sql:
            return sql, "query", None
        sql = trimmed


def _check_source(source: str) -> str:
    if not source.startswith(("postgresql://", "postgres://")):
        raise ExtractError(
            f"--source {source!r} is not a PostgreSQL URL; use postgresql://USER:PASSWORD@HOST:PORT"
            "/DATABASE (or leave --source out for the configured pagila database)."
        )
    try:
        psycopg.conninfo.conninfo_to_dict(source)
    except psycopg.ProgrammingError as exc:
        raise ExtractError(f"--source is not a valid PostgreSQL URL: {exc}") from None
    return source


def _source_identity(conn: psycopg.Connection) -> tuple:
    """What changes when the source database is replaced (seed) or its server restarts."""
    return conn.execute(
        "select oid, pg_postmaster_start_time() from pg_database where datname = current_database()"
    ).fetchone()


def _describe(source_url: str, read_sql: str, name: str, given: bool):
    """The source's columns, and its identity (to explain a read that fails midway)."""
    where = "Check --source" if given else "Run `playground doctor` to check the configured one"
    try:
        with psycopg.connect(source_url, connect_timeout=5) as conn:
            return pgtypes.describe(conn, read_sql, name), _source_identity(conn)
    except psycopg.OperationalError as exc:
        raise ExtractError(
            f"cannot reach the source PostgreSQL: {str(exc).strip().splitlines()[0]}. {where}."
        ) from None
    except psycopg.Error as exc:
        raise ExtractError(f"{name}: {str(exc).strip().splitlines()[0]}") from None


def _read_failed(source_url: str, identity: tuple, exc: BaseException) -> ExtractError | None:
    """An ExtractError explaining `exc` if the source was replaced or restarted during the read."""
    if not isinstance(exc, Exception) or isinstance(exc, ExtractError):
        return None
    dropped = False
    try:
        with psycopg.connect(source_url, connect_timeout=5) as conn:
            now = _source_identity(conn)
    except psycopg.Error as error:
        now, dropped = None, "does not exist" in str(error)  # the server answered: no database
    if now == identity:
        return None
    if now is None and not dropped:
        what = "stopped (it no longer answers; `playground doctor` says how to start it)"
    elif now is not None and now[0] == identity[0]:
        what = "restarted"
    else:
        what = "replaced (by `playground seed`?)"
    return ExtractError(
        f"the source database was {what} while it was being read ({type(exc).__name__}: "
        f"{scrub(str(exc).strip().splitlines()[0]) if str(exc).strip() else 'connection lost'}). "
        "Nothing was committed; run the extract again."
    )


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
        raise ExtractError(f"--partition-by: the source has no column {partition_column!r}.")
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
    read_sql, source_name, plain_table = _source_query(table, query)
    source_url = _check_source(source) if source else postgres.url(settings.pagila_db, settings)
    columns, identity = _describe(source_url, read_sql, source_name, given=bool(source))
    _check_names(columns, source_name)
    partition_column = _check_partitioning(partition_by, mode, columns)
    if months is not None and mode != "overwrite-partitions":
        raise ExtractError("months= applies only to mode overwrite-partitions.")
    read = stage.Read(method, settings, source_url, read_sql, plain_table, source_name, columns,
                      partition_column, batch_rows)  # fmt: skip
    progress(f"extracting {source_name} into {to} with {method} ({len(columns)} columns)")
    # New files go under PyIceberg's default location for the table; add_files accepts any
    # path, so this needs no catalog lookup before the copy starts. The folder names this process
    # so that `playground clean` can tell a live run's files from a killed run's.
    location = f"{settings.warehouse.rstrip('/')}/{namespace}/{name}"
    fs, base = objectstore.filesystem(settings, location)
    folder = f"{base}/data/{staging_folder_name()}"
    scheme = "s3://" if location.startswith("s3://") else ""
    try:
        fs.create_dir(folder, recursive=True)
        try:
            staged = stage.stage(read, fs, scheme, folder, progress, started)
        except BaseException as exc:
            explained = _read_failed(source_url, identity, exc)
            if explained is not None:
                raise explained from None
            raise
        if mode == "overwrite-partitions" and months is None:
            months = sorted(staged.months)
        uris = [scheme + f for f in staged.files]
        committed = _commit(_open_catalog(settings, cat), to, location, read, uris, mode, months)
    except BaseException:
        fs.delete_dir_contents(folder, missing_dir_ok=True)
        try:
            fs.delete_dir(folder)
        except OSError:
            pass
        raise
    return _result(committed, to, uris, staged.rows, started, method, pgtypes.arrow_schema(columns),
                   progress)  # fmt: skip


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
