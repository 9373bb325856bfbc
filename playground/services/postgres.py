"""PostgreSQL: the embedded server (PostgreSQL 18 from a wheel, in the data dir) or the stack's.

The embedded server listens on a unix socket only, is started on demand, and is shared by every
process that uses the same data directory: a second process finds it running and reuses it, and
nothing stops it implicitly. `stop()` (or `playground services stop`) stops it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from playground.config.files import write_private
from playground.config.secrets import scrub
from playground.config.settings import START_STACK, ServiceUnavailable, Settings, get_settings
from playground.services import pgserver
from playground.services.net import probe
from playground.services.processes import Status

__all__ = ["ServiceUnavailable", "Status", "connect", "start", "status", "stop", "url"]


def psql_path() -> Path:
    """The psql client shipped with the embedded PostgreSQL build (works against any server)."""
    return pgserver.bin_dir() / "psql"


def _running(pgdata: Path) -> pgserver.Postmaster | None:
    found = pgserver.find(pgdata)
    return found if isinstance(found, pgserver.Postmaster) and found.ready else None


def running(settings: Settings) -> pgserver.Postmaster | None:
    """The embedded server of `settings`' data directory if it runs and is ready."""
    return _running(settings.pgdata)


def _describe(server: pgserver.Postmaster) -> str:
    return f"embedded PostgreSQL pid {server.pid}, socket {server.socket_dir}"


def _stale(found: pgserver.Stale) -> str:
    return f"stale postmaster.pid ({found.reason}); `playground services start` removes it"


def start(settings: Settings | None = None, progress=print) -> Status:
    """Start the embedded server if it is not running (no-op in stack mode). Idempotent.

    A stale `postmaster.pid` (left by a crash, naming a dead or unrelated process) is removed
    first, with a line saying so; data of an older bundled PostgreSQL is upgraded once.
    """
    settings = settings or get_settings()
    if settings.is_stack:
        return status(settings)
    pgdata = settings.pgdata
    server = _running(pgdata)
    if server is not None:
        return Status(True, _describe(server))
    with pgserver.start_lock(pgdata):
        if _running(pgdata) is None:  # another process may have started it meanwhile
            _start_locked(pgdata, progress)
    server = _running(pgdata)
    if server is None:
        raise ServiceUnavailable(
            f"the embedded PostgreSQL did not start; its log is {pgdata / 'log'}. "
            "Next: `playground doctor`."
        )
    return Status(True, _describe(server))


def _start_locked(pgdata: Path, progress) -> None:
    found = pgserver.find(pgdata)
    if isinstance(found, pgserver.Stale):
        (pgdata / "postmaster.pid").unlink(missing_ok=True)
        progress(f"removed a stale {pgdata / 'postmaster.pid'}: {found.reason}")
    pgserver.upgrade_if_needed(pgdata, progress)
    try:
        pgserver.start(pgdata)
    except RuntimeError as exc:
        lines = str(exc).strip().splitlines()
        # the program's own error lines say why (initdb ends with its clean-up's line)
        reasons = [line for line in lines if "error" in line.lower() or "FATAL" in line]
        raise ServiceUnavailable(
            f"the embedded PostgreSQL did not start ({'; '.join(reasons[:3] or lines[-1:])}); "
            f"its log is {pgdata / 'log'}. Next: `playground doctor`."
        ) from None


def stop(settings: Settings | None = None) -> Status:
    """Stop the embedded server if it runs, after checking the PID is really this server's."""
    settings = settings or get_settings()
    if settings.is_stack:
        return Status(False, "stack mode: stop the stack with `docker compose down`")
    found = pgserver.find(settings.pgdata)
    if isinstance(found, pgserver.Stale):
        return Status(
            False, f"embedded PostgreSQL was not running: {_stale(found)}; nothing was signalled"
        )
    if found is None:
        return Status(False, "embedded PostgreSQL was not running")
    pgserver.signal_stop(found)
    pgserver.remove_socket_folder(found.socket_dir, settings.pgdata)
    return Status(False, f"stopped embedded PostgreSQL pid {found.pid}")


def status(settings: Settings | None = None) -> Status:
    """Whether PostgreSQL answers, without starting anything."""
    settings = settings or get_settings()
    if settings.is_stack:
        error = probe(settings.pg_host, settings.pg_port, timeout=2)
        if error is not None:
            return Status(False, f"{settings.pg_host}:{settings.pg_port} unreachable ({error})")
        return Status(True, f"stack PostgreSQL at {settings.pg_host}:{settings.pg_port}")
    found = pgserver.find(settings.pgdata)
    if isinstance(found, pgserver.Stale):
        return Status(False, f"embedded PostgreSQL not running: {_stale(found)}")
    if found is None or not found.ready:
        return Status(False, f"embedded PostgreSQL not running (data in {settings.pgdata})")
    return Status(True, _describe(found))


def passfile(settings: Settings) -> Path:
    """A libpq password file (0600, in the data directory) holding the stack's login, so that
    URLs, connection strings and command lines name the file instead of carrying the password
    (DuckDB's connection errors print the whole connection string). One file per login."""
    user, password = settings.pg_user, settings.pg_password
    digest = hashlib.sha256(f"{user}\0{password}".encode()).hexdigest()[:16]
    file = settings.data_dir / "pgpass" / digest
    if not file.is_file():
        escaped = [value.replace("\\", "\\\\").replace(":", "\\:") for value in (user, password)]
        write_private(file, f"*:*:*:{escaped[0]}:{escaped[1]}\n")
    return file


def url(database: str | None = None, settings: Settings | None = None, driver: str = "") -> str:
    """A connection URL (libpq form; `driver="psycopg"` gives the SQLAlchemy form).

    On the stack the password stays in `passfile()`, which the URL names. In embedded mode the
    server must be running (its socket folder and port are known only then): `start()` it
    first, or this raises `ServiceUnavailable` saying so. Nothing here starts a server.
    """
    settings = settings or get_settings()
    database = database or "postgres"
    scheme = f"postgresql+{driver}" if driver else "postgresql"
    if settings.is_stack:
        user = quote(settings.pg_user, safe="")
        host = f"{settings.pg_host}:{settings.pg_port}"
        secret = quote(str(passfile(settings)), safe="")
        return f"{scheme}://{user}@{host}/{quote(database, safe='')}?passfile={secret}"
    server = _running(settings.pgdata)
    if server is None:
        raise ServiceUnavailable(
            f"the embedded PostgreSQL is not running (data in {settings.pgdata}). Next: "
            "`playground services start`, then run again."
        )
    host = quote(str(server.socket_dir), safe="/")
    return f"{scheme}://postgres@/{quote(database, safe='')}?host={host}&port={server.port}"


def libpq_dsn(database: str | None = None, settings: Settings | None = None) -> str:
    """A `key=value` connection string, the form DuckDB's postgres extension takes."""
    return make_conninfo("", **conninfo_to_dict(url(database, settings)))


def connect(database: str | None = None, settings: Settings | None = None, **kwargs):
    """Open a psycopg connection, raising `ServiceUnavailable` with a hint when it cannot (in
    embedded mode the server must be running, as for `url()`)."""
    settings = settings or get_settings()
    try:
        target = url(database, settings)
        return psycopg.connect(target, connect_timeout=5, **kwargs)
    except psycopg.OperationalError as exc:
        if settings.is_stack:
            hint = f"start the stack with {START_STACK} or set PLAYGROUND_MODE=embedded"
        else:
            hint = "run `playground services start` and `playground doctor`"
        raise ServiceUnavailable(
            f"PostgreSQL ({settings.mode}) is unreachable: {scrub(str(exc).strip(), settings)}. "
            f"Next: {hint}."
        ) from exc


def drop_database(name: str, settings: Settings | None = None) -> None:
    """Drop database `name` if it exists, closing the sessions connected to it."""
    with connect("postgres", settings, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


def ensure_database(name: str, settings: Settings | None = None) -> bool:
    """Create database `name` if it does not exist. Returns True if it was created."""
    with connect("postgres", settings, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        return True
