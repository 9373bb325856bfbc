"""Lesson 07's plumbing and checks: the lesson's own DuckLake catalog database (in the mode's
PostgreSQL) and data folder (under the data directory, or in the stack's bucket), a DuckDB
connection with the ducklake extension, timing, counting files and catalog rows. The DuckLake and
Iceberg statements themselves are in the lesson's cells."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb
from psycopg import sql
from pyarrow import fs

from playground import lakehouse
from playground.config.files import private_dir_mode
from playground.config.settings import Settings, get_settings
from playground.datasets.pagila import seed
from playground.engines import duck
from playground.extract.reconcile import Differences
from playground.lakehouse.objectstore import filesystem
from playground.lessons.exercises import Exercise, run_answer
from playground.services import postgres

CATALOG_DB = "lesson07_ducklake"  # DuckLake's catalog: a PostgreSQL database of its own
NAMESPACE = "lesson07"  # the Iceberg side
SOURCE_DB = "pagila"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def check_name(name: str) -> str:
    """A plain lower-case SQL name (letters, digits, underscores), or ValueError saying so."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a plain table name: use lower-case letters, digits and "
            "underscores, starting with a letter (e.g. payment_copy)."
        )
    return name


@dataclass(frozen=True)
class Setup:
    """Where the lesson's two lakehouses live; `catalog_dsn` and `source_dsn` are libpq strings."""

    settings: Settings
    catalog_dsn: str  # DuckLake's catalog database
    source_dsn: str  # pagila, read-only
    data_path: Path | str  # DuckLake's Parquet files: a folder, or an s3:// prefix on the stack
    namespace: str = NAMESPACE
    tables: tuple[str, ...] = field(default=("payment",))


def prepare(settings: Settings | None = None, progress=print) -> Setup:
    """Start from scratch on every run: pagila seeded if missing, DuckLake's catalog database
    and data folder recreated (private; on the stack, the bucket's `lesson07/ducklake/` emptied),
    the lesson's Iceberg namespace emptied. The mode's PostgreSQL, catalog and files throughout."""
    settings = settings or get_settings()

    def quiet_if_there(line: str) -> None:
        if not line.endswith("left as it is"):
            progress(line)

    seed.seed(scale=1, target=settings.mode, database=SOURCE_DB, if_missing=True,
              progress=quiet_if_there)  # fmt: skip
    postgres.drop_database(CATALOG_DB, settings)
    postgres.ensure_database(CATALOG_DB, settings)
    data_path = _fresh_data_path(settings)
    cat = lakehouse.catalog(settings)
    cat.create_namespace_if_not_exists(NAMESPACE)
    for _namespace, table in cat.list_tables(NAMESPACE):
        location = cat.load_table(f"{NAMESPACE}.{table}").location()
        cat.purge_table(f"{NAMESPACE}.{table}")
        _remove(location, settings)  # what the purge left (old metadata files)
    return Setup(
        settings,
        postgres.libpq_dsn(CATALOG_DB, settings),
        postgres.libpq_dsn(SOURCE_DB, settings),
        data_path,
    )


def _fresh_data_path(settings: Settings) -> Path | str:
    """DuckLake's data folder, empty: `lesson07/ducklake/` of the data directory (private), or
    of the stack's bucket."""
    if settings.is_stack:
        data_path = f"s3://{settings.s3_bucket}/lesson07/ducklake/"
        _remove(data_path, settings)
        return data_path
    data_path = settings.data_dir / "lesson07" / "ducklake"
    shutil.rmtree(data_path, ignore_errors=True)
    data_path.mkdir(parents=True, mode=private_dir_mode())
    data_path.parent.chmod(private_dir_mode())
    return data_path


def _remove(location: Path | str, settings: Settings) -> None:
    """Every file under a folder, `file://` URI or s3:// prefix, gone (none there is fine)."""
    text = str(location)
    if not text.startswith("s3://"):
        shutil.rmtree(_local(text), ignore_errors=True)
        return
    where, path = filesystem(settings, text)
    path = path.rstrip("/")
    found = where.get_file_info(fs.FileSelector(path, recursive=True, allow_not_found=True))
    # files first, then folders deepest first: the stack's object store (versitygw on a
    # folder) refuses a folder marker while something is under it, so one batch delete fails
    for info in sorted(found, key=lambda info: (info.type != fs.FileType.File, -len(info.path))):
        try:
            if info.type == fs.FileType.File:
                where.delete_file(info.path)
            else:
                where.delete_dir(info.path)
        except FileNotFoundError:  # gone with what was under it
            pass


def connect(setup: Setup) -> duckdb.DuckDBPyConnection:
    """DuckDB in UTC with ducklake loaded from its wheel, pagila attached read-only as `pg`."""
    con = duck.connect(settings=setup.settings, extensions=(*duck.EXTENSIONS, "ducklake"))
    duck.attach_postgres(con, setup.source_dsn, "pg", setup.settings)
    return con


def _local(path: Path | str) -> Path:
    text = str(path)
    return Path(unquote(urlparse(text).path)) if text.startswith("file:") else Path(text)


def files(path: Path | str, settings: Settings | None = None) -> int:
    """How many files are under `path` (a folder, a `file://` URI, or an s3:// prefix of the
    stack's bucket), recursively."""
    text = str(path)
    if not text.startswith("s3://"):
        return sum(1 for found in _local(text).rglob("*") if found.is_file())
    where, prefix = filesystem(settings or get_settings(), text)
    listed = where.get_file_info(fs.FileSelector(prefix.rstrip("/"), recursive=True,
                                                 allow_not_found=True))  # fmt: skip
    return sum(1 for found in listed if found.type == fs.FileType.File)


def catalog_rows(setup: Setup) -> int:
    """Rows in every table of DuckLake's catalog database, counted by PostgreSQL."""
    with postgres.connect(CATALOG_DB, setup.settings) as conn:
        names = conn.execute(
            "select schemaname, tablename from pg_tables where tablename like 'ducklake%'"
        ).fetchall()
        total = 0
        for schema, table in names:
            query = sql.SQL("select count(*) from {}.{}").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
            total += conn.execute(query).fetchone()[0]
    return total


@contextmanager
def measured(
    folder: Path | str, catalog: Callable[[], object], settings: Settings | None = None
) -> Iterator[dict]:
    """Milliseconds, files added under `folder`, and catalog writes by the block: `catalog()` is
    read before and after (a row count: the rows added; anything else: 1 if it changed)."""
    result: dict = {}
    files_before, catalog_before = files(folder, settings), catalog()
    start = time.perf_counter()
    yield result
    result["ms"] = round((time.perf_counter() - start) * 1000, 1)
    result["files added"] = files(folder, settings) - files_before
    after = catalog()
    if isinstance(catalog_before, int) and isinstance(after, int):
        result["catalog writes"] = after - catalog_before
    else:
        result["catalog writes"] = int(after != catalog_before)


def lake_measured(setup: Setup):
    """`measured` for the DuckLake side: files under its data folder, rows of its catalog."""
    return measured(setup.data_path, lambda: catalog_rows(setup), setup.settings)


def iceberg_measured(table, settings: Settings | None = None):
    """`measured` for an Iceberg table (a PyIceberg `Table`): files under its location, and
    whether the catalog's pointer to its current metadata file moved."""
    settings = settings or get_settings()
    return measured(
        table.location(),
        lambda: lakehouse.metadata_location(_identifier(table), settings),
        settings,
    )


def _identifier(table) -> str:
    return ".".join(table.name()[-2:])


def payment_differences(con, relation: str, start, end) -> Differences:
    """The payments of [start, end) in `relation` (`lake.payment`, or a view of the Iceberg
    table) against PostgreSQL's (`pg.public.payment`), row by row both ways (EXCEPT ALL), on
    PostgreSQL's columns."""
    parts = [check_name(part) for part in relation.split(".")]
    quoted = ".".join(f'"{part}"' for part in parts)
    names = ", ".join(f'"{c}"' for c in con.sql("from pg.public.payment limit 0").columns)
    where = "where payment_date >= $start and payment_date < $end"
    ours = f"select {names} from {quoted} {where}"  # noqa: S608 - checked, quoted names
    theirs = f"select {names} from pg.public.payment {where}"  # noqa: S608 - quoted names
    count = "select count(*) from ({} except all {})"
    bounds = {"start": start, "end": end}
    missing = con.execute(count.format(theirs, ours), bounds).fetchone()[0]
    extra = con.execute(count.format(ours, theirs), bounds).fetchone()[0]
    return Differences(missing, extra)


def _postgres(setup: Setup, query: str) -> list[tuple]:
    with postgres.connect(SOURCE_DB, setup.settings) as conn:
        return conn.execute(query).fetchall()


FIRST_LOAD = """select count(*) from payment
where payment_date >= '2022-04-01 00:00:00+00' and payment_date < '2022-06-01 00:00:00+00'"""


def check_first_load(query: str, con, setup: Setup) -> str | None:
    """One count: the rows of lake.payment right after the first load, as PostgreSQL counts the
    two months it came from."""
    rows = run_answer(lambda: con.sql(query).fetchall())
    if len(rows) != 1 or len(rows[0]) != 1:
        return "one row with one number expected (select count(*) ...)"
    ((wanted,),) = _postgres(setup, FIRST_LOAD)
    got = rows[0][0]
    if got == wanted:
        return None
    return f"your count is {got}; read the table at the version of the first load (AT VERSION)"


MAY_BY_STAFF = """select staff_id, sum(amount) from payment
where payment_date >= '2022-05-01 00:00:00+00' and payment_date < '2022-06-01 00:00:00+00'
group by staff_id order by staff_id"""


def check_may_revenue(query: str, con, setup: Setup) -> str | None:
    """Two columns, (staff_id, revenue) of May 2022 in lake.payment, summed by PostgreSQL."""
    rows = run_answer(lambda: con.sql(query).fetchall())
    if rows and len(rows[0]) != 2:
        return f"two columns expected (staff_id, revenue); your query returns {len(rows[0])}"
    wanted = {int(staff): Decimal(total) for staff, total in _postgres(setup, MAY_BY_STAFF)}
    try:
        got = {int(staff): Decimal(str(total)) for staff, total in rows}
    except (TypeError, ValueError, ArithmeticError):
        return "each row should be (staff_id, revenue): two numbers"
    if set(got) != set(wanted):
        return f"staff {sorted(wanted)} expected, your query returns {sorted(got)}"
    for staff, total in sorted(wanted.items()):
        if got[staff] != total:
            return f"staff {staff}: yours {got[staff]}, PostgreSQL's {total}"
    return None


FIRST_LOAD_ANSWER = "select count(*) from lake.payment at (version => 1)"
FIRST_LOAD_WRONG = "select count(*) from lake.payment"  # today's rows, the one-row insert too
MAY_ANSWER = """select staff_id, sum(amount) as revenue
from lake.payment
where payment_date >= timestamptz '2022-05-01 00:00:00+00'
  and payment_date <  timestamptz '2022-06-01 00:00:00+00'
group by staff_id
order by staff_id"""
MAY_WRONG = MAY_ANSWER.replace("sum(amount)", "avg(amount)")  # same pairs, wrong values

FIRST = Exercise(
    "07.1", "The first load, read back in time", check_first_load, FIRST_LOAD_ANSWER,
    FIRST_LOAD_WRONG,
    "Version 1 is the `CREATE TABLE ... AS` of the first load (version 0 is the empty catalog "
    "the ATTACH created): `ducklake_snapshots('lake')` lists them. The check counts the same "
    "two months in PostgreSQL.",
)  # fmt: skip
MAY = Exercise(
    "07.2", "May's revenue by staff in DuckLake", check_may_revenue, MAY_ANSWER, MAY_WRONG,
    "After the month replace, May in DuckLake is May in PostgreSQL again: the check sums the "
    "source with PostgreSQL itself. The bounds are UTC instants, like the lesson's connection.",
)  # fmt: skip
EXERCISES = (FIRST, MAY)


def iceberg_table(setup: Setup, name: str) -> str:
    """`<namespace>.<name>` of the lesson's Iceberg side, the name checked first."""
    return f"{setup.namespace}.{check_name(name)}"
