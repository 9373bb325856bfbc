"""`playground seed`: create or replace the pagila database, generated or from the upstream dump.

The data is always loaded into a fresh database (`<name>__loading`), checked (every table present
and filled), and swapped in only once everything succeeded: a failed or interrupted seed leaves the
target as it was. Seeds of one database run one at a time (an advisory lock). A database is
replaced only if `playground seed` created it (marked by a comment), unless `force=True`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import psutil
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from playground.config.months import next_month
from playground.config.settings import Settings, get_settings
from playground.datasets.pagila import generate
from playground.services import postgres

MARKER = "created by playground seed"
DUMP_FILES = ("pagila-schema.sql", "pagila-data.sql")
DIMENSIONS = (
    "language", "category", "country", "city", "address", "actor", "film", "film_actor",
    "film_category", "store", "staff", "customer", "inventory",
)  # fmt: skip
# Tables with an identity column whose sequence must continue after the loaded ids.
IDENTITIES = {
    "language": "language_id", "category": "category_id", "country": "country_id",
    "city": "city_id", "address": "address_id", "actor": "actor_id", "film": "film_id",
    "store": "store_id", "staff": "staff_id", "customer": "customer_id",
    "inventory": "inventory_id", "rental": "rental_id", "payment": "payment_id",
}  # fmt: skip
# 41 characters, so that `<name>__loading` fits PostgreSQL's 63-character limit
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
MAINTENANCE_DATABASES = ("postgres", "template0", "template1")
_RESERVED_SUFFIXES = ("__loading", "__old")
_APP = "playground seed"

Progress = Callable[[str], None]


class SeedError(RuntimeError):
    """Seeding cannot proceed; the message names the problem and the fix."""


@dataclass(frozen=True)
class Target:
    """Where to seed: a server (as a libpq URL of its maintenance database) and a database name."""

    server_url: str
    database: str
    label: str

    def url(self, database: str) -> str:
        info = psycopg.conninfo.conninfo_to_dict(self.server_url)
        info["dbname"] = database
        return psycopg.conninfo.make_conninfo("", **info)


def resolve_target(
    target: str | None = None, database: str | None = None, settings: Settings | None = None
) -> Target:
    """`None`/"embedded" → the embedded server; "stack" → the stack's; else a PostgreSQL URL."""
    settings = settings or get_settings()
    database = database or settings.pagila_db
    if not _DB_NAME.match(database):
        raise SeedError(
            f"{database!r} is not a usable database name: lower-case letters, digits and _, "
            "starting with a letter or _, at most 41 characters."
        )
    if database in MAINTENANCE_DATABASES or database.endswith(_RESERVED_SUFFIXES):
        raise SeedError(
            f"{database!r} is reserved (PostgreSQL's maintenance databases and the names seed "
            "uses while loading); choose another --database."
        )
    if target in (None, "", "embedded", "stack"):
        mode = target or settings.mode
        chosen = replace(settings, mode=mode)
        if mode == "embedded":
            postgres.start(chosen)
        return Target(postgres.url("postgres", chosen), database, f"{mode} PostgreSQL")
    if not target.startswith(("postgresql://", "postgres://")):
        raise SeedError(
            f"target {target!r} is not 'embedded', 'stack' or a postgresql:// URL "
            "(e.g. postgresql://user:password@localhost:5432/postgres)."
        )
    label = _masked(target)
    fix = (
        "Write it as postgresql://HOST:5432/postgres with the login before the host "
        "(name, colon, password, @), any @ : / [ ] % in the password percent-encoded (@ as %40)."
    )
    try:
        info = psycopg.conninfo.conninfo_to_dict(target)
    except psycopg.ProgrammingError as exc:
        # libpq quotes the whole URL, password and all: keep only what is wrong with it
        problem = re.sub(r'\s*in URI: ".*"\s*$', "", str(exc).strip().splitlines()[0])
        raise SeedError(
            f"target {label!r} is not a usable PostgreSQL URL: "
            f"{_hidden(problem.replace(target, label), target)}. {fix}"
        ) from None
    if "@" in str(info.get("host", "")):  # part of the password would be taken for the host
        raise SeedError(f"target {label!r}: the password holds an @ that is not encoded. {fix}")
    return Target(target, database, label)


def _masked(url: str) -> str:
    """The URL without its user and password (everything up to the last `@`)."""
    return re.sub(r"//.*@", "//***@", url, count=1)


def _hidden(text: str, url: str) -> str:
    """`text` without any piece of the login `url` carries (libpq may quote a piece of a
    password it took for a port or a host)."""
    login = url.split("//", 1)[-1].rpartition("@")[0]
    pieces = {login, *re.split(r"[:/?#\[\]@]", login)}
    for piece in sorted((p for p in pieces if len(p) >= 3), key=len, reverse=True):
        text = text.replace(piece, "***")
    return text


def _connect(target: Target, database: str, **kwargs) -> psycopg.Connection:
    try:
        return psycopg.connect(target.url(database), connect_timeout=5, **kwargs)
    except psycopg.OperationalError as exc:
        first = _hidden(str(exc).strip().splitlines()[0], target.server_url)
        raise SeedError(
            f"cannot reach {target.label}: {first}. Check the target "
            "(`playground doctor`; for the stack, `docker compose up --wait`)."
        ) from None


def _comment(conn: psycopg.Connection, database: str) -> str | None:
    row = conn.execute(
        "select shobj_description(oid, 'pg_database') from pg_database where datname = %s",
        (database,),
    ).fetchone()
    if row is None:
        return None
    return row[0] or ""


def _drop(conn: psycopg.Connection, database: str) -> None:
    conn.execute(
        sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database))
    )


def seed(
    scale: float = 1.0,
    seed: int = 42,
    dump: Path | str | None = None,
    target: str | None = None,
    database: str | None = None,
    force: bool = False,
    progress: Progress = print,
    if_missing: bool = False,
) -> dict[str, int]:
    """Create or replace the pagila database; returns the row count of every table.

    One seed at a time per target database (a PostgreSQL advisory lock); a second one fails at
    once naming the first. The data is loaded into `<database>__loading`, checked, and swapped in
    with two renames in one transaction, so the target is never absent and an interrupted seed
    leaves it as it was.

    Args:
        scale: scale factor (SF 1 = upstream's row counts); ignored with `dump`.
        seed: random seed; the same (scale, seed) always gives the same data.
        dump: a directory with upstream's `pagila-schema.sql` and `pagila-data.sql` to load instead.
        target: None/"embedded", "stack", or a postgresql:// URL of the server.
        database: the database to create or replace (default PLAYGROUND_PAGILA_DB, `pagila`).
        force: replace the database even if `playground seed` did not create it.
        if_missing: leave an existing database as it is (the stack's seeding service uses this,
            so a second `docker compose up` keeps what the learner changed); returns {}.
    """
    if seed < 0:
        raise SeedError(f"--seed {seed}: the random seed must be 0 or more.")
    if dump is None:
        _check_fits(generate.Scale(scale), target)  # validate before touching anything
    else:
        dump = _check_dump(Path(dump))
    where = resolve_target(target, database)
    loading = f"{where.database}__loading"
    with _connect(where, "postgres", autocommit=True) as admin:
        _lock(admin, where)
        existing = _comment(admin, where.database)
        if existing is not None and if_missing:
            progress(f"database {where.database!r} on {where.label} exists; left as it is")
            return {}
        if existing is not None and not existing.startswith(MARKER) and not force:
            raise SeedError(
                f"database {where.database!r} on {where.label} exists and was not created by "
                "`playground seed`; pass --force to replace it, or choose --database."
            )
        _drop(admin, loading)  # a leftover of a killed seed (the lock says none is running)
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(loading)))
        source = {"dump": str(dump)} if dump else {"scale": scale, "seed": seed}
        admin.execute(
            sql.SQL("comment on database {} is {}").format(
                sql.Identifier(loading), sql.Literal(f"{MARKER} {json.dumps(source)}")
            )
        )
        try:
            if dump:
                _load_dump(where, loading, dump, progress)
            else:
                _load_generated(where, loading, generate.Generator(scale, seed), progress)
            counts = _checked_counts(where.url(loading), dump)
        except BaseException:
            _drop(admin, loading)
            raise
        _swap(admin, loading, where.database)
    progress(f"pagila ready in database {where.database!r} on {where.label}")
    return counts


def lock_key(database: str) -> int:
    """The advisory-lock key that serializes seeds of `database` (a stable signed 64-bit int)."""
    digest = hashlib.sha256(f"playground seed {database}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _lock(admin: psycopg.Connection, where: Target) -> None:
    """Hold the seed lock of the target database for this connection's life, or fail at once."""
    name = f"{_APP} pid {os.getpid()}"
    admin.execute("select set_config('application_name', %s, false)", (name,))
    if _try_lock(admin, where.database):
        return
    holder = admin.execute(
        "select a.application_name from pg_locks l join pg_stat_activity a using (pid) "
        "where l.locktype = 'advisory' and l.granted "
        "and ((l.classid::bigint << 32) | l.objid::bigint) = (%s::bigint)",
        (lock_key(where.database),),
    ).fetchone()
    who = holder[0].removeprefix(_APP).strip() if holder else "another process"
    raise SeedError(
        f"another `playground seed` ({who}) is loading database {where.database!r} on "
        f"{where.label}; wait for it to finish (or stop it), then run this one again."
    )


def _swap(admin: psycopg.Connection, loading: str, database: str) -> None:
    """Rename the old database away and the loaded one into place in one transaction."""
    old = f"{database}__old"
    _drop(admin, old)
    for attempt in range(5):
        # renaming needs the database idle: close its sessions (readers reconnect to the new one)
        admin.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s "
            "and pid <> pg_backend_pid()",
            (database,),
        )
        try:
            with admin.transaction():
                if _comment(admin, database) is not None:
                    admin.execute(_rename(database, old))
                admin.execute(_rename(loading, database))
            break
        except psycopg.errors.ObjectInUse:
            if attempt == 4:
                raise SeedError(
                    f"database {database!r} kept getting new sessions; the new data is in "
                    f"{loading!r}. Close what uses {database!r} and seed again."
                ) from None
            time.sleep(0.2)
    _drop(admin, old)


def leftover_databases(settings=None) -> list[str]:
    """`<name>__loading`/`__old` databases of killed seeds (no seed of `<name>` holds the lock)."""
    if not postgres.status(settings).running:
        return []
    with postgres.connect("postgres", settings, autocommit=True) as admin:
        names = [
            row[0]
            for row in admin.execute(
                "select datname from pg_database where datname like any(%s) order by 1",
                ([f"%{suffix}" for suffix in _RESERVED_SUFFIXES],),
            )
        ]
        return [name for name in names if _lock_is_free(admin, _base_name(name))]


def drop_leftover(database: str, settings=None) -> None:
    """Drop a leftover of a killed seed, holding its seed lock so no new seed starts meanwhile."""
    with postgres.connect("postgres", settings, autocommit=True) as admin:
        if _try_lock(admin, _base_name(database)):
            _drop(admin, database)


def _base_name(database: str) -> str:
    for suffix in _RESERVED_SUFFIXES:
        database = database.removesuffix(suffix)
    return database


def _try_lock(admin: psycopg.Connection, database: str) -> bool:
    """Take the seed lock of `database` for the connection's life, if no one holds it."""
    return admin.execute("select pg_try_advisory_lock(%s)", (lock_key(database),)).fetchone()[0]


def _lock_is_free(admin: psycopg.Connection, database: str) -> bool:
    if _try_lock(admin, database):
        admin.execute("select pg_advisory_unlock(%s)", (lock_key(database),))
        return True
    return False


def _rename(source: str, target: str) -> sql.Composed:
    return sql.SQL("alter database {} rename to {}").format(
        sql.Identifier(source), sql.Identifier(target)
    )


def _checked_counts(url: str, dump: Path | None) -> dict[str, int]:
    """Every table's row count, refusing a load that left a table missing or empty."""
    where = f"the dump in {dump}" if dump else "the generator"
    try:
        counts = row_counts(url)
    except psycopg.errors.UndefinedTable as exc:
        raise SeedError(
            f"{where} did not create every pagila table ({str(exc).splitlines()[0]}); "
            "the database was left as it was."
        ) from None
    empty = [table for table, rows in counts.items() if rows == 0]
    if empty:
        raise SeedError(
            f"{where} loaded no rows into {', '.join(empty)}; the database was left as it was."
        )
    return counts


def _check_fits(scale: generate.Scale, target: str | None) -> None:
    """Refuse a scale factor whose database or generator would not fit this machine."""
    memory, available = scale.memory_bytes(), psutil.virtual_memory().available
    disk, free, where = scale.disk_bytes(), None, ""
    settings = get_settings()
    if target in (None, "", "embedded") and not settings.is_stack:
        free, where = shutil.disk_usage(settings.data_dir).free, f" in {settings.data_dir}"
    if memory > available or (free is not None and disk > free):
        gb = 2**30
        free_text = f"{free / gb:,.1f} GB free{where}" if free is not None else "free space unknown"
        raise SeedError(
            f"scale factor {scale.sf:g} needs about {disk / gb:,.1f} GB of disk ({free_text}) and "
            f"{memory / gb:,.1f} GB of memory ({available / gb:,.1f} GB available). "
            "Choose a smaller --scale."
        )


def _check_dump(folder: Path) -> Path:
    if folder.is_file():
        raise SeedError(
            f"--dump {folder} is a file; give the folder holding {' and '.join(DUMP_FILES)}."
        )
    if not folder.is_dir():
        raise SeedError(f"dump directory {folder} does not exist.")
    missing = [name for name in DUMP_FILES if not (folder / name).is_file()]
    if missing:
        raise SeedError(
            f"{folder} lacks {', '.join(missing)}: --dump wants a folder holding upstream pagila's "
            f"{' and '.join(DUMP_FILES)} (github.com/devrimgunduz/pagila)."
        )
    return folder


def _load_dump(target: Target, database: str, folder: Path, progress: Progress) -> None:
    """Run the dump through psql in one transaction, stopping at the first error."""
    for name in DUMP_FILES:
        started = time.monotonic()
        # The dump assigns objects to role `postgres`, which need not exist on the target.
        text = (folder / name).read_text(encoding="utf-8")
        text = re.sub(r"OWNER TO postgres;", "OWNER TO CURRENT_USER;", text)
        result = subprocess.run(
            [str(postgres.psql_path()), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
             "-d", target.url(database), "-f", "-"],
            input=text, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise SeedError(f"loading {folder / name} failed: {result.stderr.strip()[-2000:]}")
        progress(f"  {name:<20} loaded in {time.monotonic() - started:6.2f} s")


def _load_generated(
    target: Target, database: str, gen: generate.Generator, progress: Progress
) -> None:
    schema = resources.files("playground.datasets.pagila").joinpath("schema.sql").read_text()
    constraints = (
        resources.files("playground.datasets.pagila").joinpath("constraints.sql").read_text()
    )
    total = time.monotonic()
    with _connect(target, database) as conn:
        conn.execute("set synchronous_commit = off")
        conn.execute(schema)
        for month in generate.partitions():
            upper = next_month(month)
            name = f"payment_p{month:%Y_%m}"
            conn.execute(
                sql.SQL("create table {} partition of payment for values from ({}) to ({})").format(
                    sql.Identifier(name), sql.Literal(f"{month} 00:00:00+00"),
                    sql.Literal(f"{upper} 00:00:00+00"),
                )
            )  # fmt: skip
        for table in DIMENSIONS:
            _timed(progress, table, lambda t=table: _copy_rows(conn, t, getattr(gen, t)()))
        _timed(progress, "rental", lambda: _copy_facts(conn, "rental", gen, _rental_batch))
        _timed(progress, "payment", lambda: _copy_facts(conn, "payment", gen, _payment_batch))
        started = time.monotonic()
        conn.execute(constraints)
        for table, column in IDENTITIES.items():
            conn.execute(
                sql.SQL(
                    "select setval(pg_get_serial_sequence({t}, {c}), "
                    "coalesce((select max({ci}) from {ti}), 0) + 1, false)"
                ).format(
                    t=sql.Literal(table), c=sql.Literal(column),
                    ci=sql.Identifier(column), ti=sql.Identifier(table),
                )
            )  # fmt: skip
        progress(f"  {'keys and indexes':<20} {time.monotonic() - started:27.2f} s")
        conn.commit()
        conn.execute("analyze")
    progress(f"  {'total':<20} {time.monotonic() - total:27.2f} s")


def _timed(progress: Progress, table: str, load: Callable[[], int]) -> None:
    started = time.monotonic()
    rows = load()
    seconds = max(time.monotonic() - started, 1e-6)
    progress(f"  {table:<20} {rows:>12,} rows {seconds:8.2f} s {rows / seconds:>12,.0f} rows/s")


def _copy_rows(conn: psycopg.Connection, table: str, rows: Iterable[tuple]) -> int:
    count = 0
    columns = [
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns where table_name = %s "
            "and is_generated = 'NEVER' order by ordinal_position",
            (table,),
        )
    ]
    statement = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _rental_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    return batch.select(list(generate.RENTAL_COLUMNS))


def _payment_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    return pa.record_batch(
        {
            "payment_id": batch["rental_id"],  # one payment per rental
            "customer_id": batch["customer_id"],
            "staff_id": batch["staff_id"],
            "rental_id": batch["rental_id"],
            "amount": batch["amount"],
            "payment_date": batch["payment_date"],
        }
    )


def _copy_facts(
    conn: psycopg.Connection,
    table: str,
    gen: generate.Generator,
    shape: Callable[[pa.RecordBatch], pa.RecordBatch],
) -> int:
    """COPY the generated blocks as CSV written by Arrow (C speed, one block in memory)."""
    columns = generate.RENTAL_COLUMNS if table == "rental" else generate.PAYMENT_COLUMNS
    statement = sql.SQL("copy {} ({}) from stdin (format csv)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    count = 0
    with conn.cursor().copy(statement) as copy:
        for block in gen.fact_blocks():
            data = shape(block).select(list(columns))
            buffer = io.BytesIO()
            pacsv.write_csv(data, buffer, options)
            copy.write(buffer.getvalue())
            count += data.num_rows
    return count


def row_counts(
    url: str, tables: tuple[str, ...] = (*DIMENSIONS, "rental", "payment")
) -> dict[str, int]:
    """Exact row count of the given pagila tables (all of them by default)."""
    with psycopg.connect(url) as conn:
        return {
            t: conn.execute(
                sql.SQL("select count(*) from {}").format(sql.Identifier(t))
            ).fetchone()[0]
            for t in tables
        }
