"""PostgreSQL: the embedded server (pgserver, under the data directory) or the stack's service.

The embedded server listens on a unix socket only, is started on demand, and is shared by every
process that uses the same data directory: a second process finds it running and reuses it, and
nothing stops it implicitly. `stop()` (or `playground services stop`) stops it.
"""

from __future__ import annotations

import os
import platform
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg

from playground.settings import ServiceUnavailable, Settings, get_settings

__all__ = ["ServiceUnavailable", "connect", "start", "status", "stop", "url"]


@dataclass(frozen=True)
class Status:
    running: bool
    detail: str


def _pgserver():
    # pgserver warns at import when XDG_RUNTIME_DIR is unset and falls back to /tmp: harmless here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver


def psql_path() -> Path:
    """The psql client shipped with pgserver's PostgreSQL build (works against any server)."""
    return Path(_pgserver()._commands.POSTGRES_BIN_PATH) / "psql"


def _server_user() -> str | None:
    # pgserver runs postgres as this system user when we are root (postgres refuses to run as root).
    if platform.system() != "Windows" and os.geteuid() == 0:
        return "pgserver"
    return None


def _postmaster(pgdata: Path):
    info = _pgserver().utils.PostmasterInfo.read_from_pgdata(pgdata)
    if info is not None and info.is_running() and info.status == "ready":
        return info
    return None


def start(settings: Settings | None = None) -> Status:
    """Start the embedded server if it is not running (no-op in stack mode). Idempotent."""
    settings = settings or get_settings()
    if settings.is_stack:
        return status(settings)
    settings.pgdata.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: this process exiting must not stop a server other processes use.
    server = _pgserver().get_server(settings.pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    return Status(True, f"embedded PostgreSQL pid {info.pid}, socket {info.socket_dir}")


def stop(settings: Settings | None = None) -> Status:
    """Stop the embedded server if it runs (by the PID in its postmaster.pid, via pg_ctl)."""
    settings = settings or get_settings()
    if settings.is_stack:
        return Status(False, "stack mode: stop the stack with `docker compose down`")
    info = _postmaster(settings.pgdata)
    if info is None:
        return Status(False, "embedded PostgreSQL was not running")
    _pgserver().pg_ctl(["-w", "-m", "fast", "stop"], pgdata=settings.pgdata, user=_server_user())
    return Status(False, f"stopped embedded PostgreSQL pid {info.pid}")


def status(settings: Settings | None = None) -> Status:
    """Whether PostgreSQL answers, without starting anything."""
    settings = settings or get_settings()
    if settings.is_stack:
        try:
            with socket.create_connection((settings.pg_host, settings.pg_port), timeout=2):
                pass
        except OSError as exc:
            return Status(False, f"{settings.pg_host}:{settings.pg_port} unreachable ({exc})")
        return Status(True, f"stack PostgreSQL at {settings.pg_host}:{settings.pg_port}")
    info = _postmaster(settings.pgdata)
    if info is None:
        return Status(False, f"embedded PostgreSQL not running (data in {settings.pgdata})")
    return Status(True, f"embedded PostgreSQL pid {info.pid}, socket {info.socket_dir}")


def url(database: str | None = None, settings: Settings | None = None, driver: str = "") -> str:
    """A connection URL (libpq form; `driver="psycopg"` gives the SQLAlchemy form).

    In embedded mode this starts the server if needed, since the socket folder is only known then.
    """
    settings = settings or get_settings()
    database = database or "postgres"
    scheme = f"postgresql+{driver}" if driver else "postgresql"
    if settings.is_stack:
        user = quote(settings.pg_user, safe="")
        password = quote(settings.pg_password, safe="")
        host = f"{settings.pg_host}:{settings.pg_port}"
        return f"{scheme}://{user}:{password}@{host}/{quote(database, safe='')}"
    start(settings)
    info = _postmaster(settings.pgdata)
    return f"{scheme}://postgres@/{quote(database, safe='')}?host={info.socket_dir}"


def libpq_dsn(database: str | None = None, settings: Settings | None = None) -> str:
    """A `key=value` connection string, the form DuckDB's postgres extension takes."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    return make_conninfo("", **conninfo_to_dict(url(database, settings)))


def connect(database: str | None = None, settings: Settings | None = None, **kwargs):
    """Open a psycopg connection, raising `ServiceUnavailable` with a hint when it cannot."""
    settings = settings or get_settings()
    try:
        return psycopg.connect(url(database, settings), connect_timeout=5, **kwargs)
    except psycopg.OperationalError as exc:
        if settings.is_stack:
            hint = "start the stack with `docker compose up --wait` or set PLAYGROUND_MODE=embedded"
        else:
            hint = "run `playground services start` and `playground doctor`"
        raise ServiceUnavailable(
            f"PostgreSQL ({settings.mode}) is unreachable: {str(exc).strip()}. Next: {hint}."
        ) from exc


def drop_database(name: str, settings: Settings | None = None) -> None:
    """Drop database `name` if it exists, closing the sessions connected to it."""
    from psycopg import sql

    with connect("postgres", settings, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


def ensure_database(name: str, settings: Settings | None = None) -> bool:
    """Create database `name` if it does not exist. Returns True if it was created."""
    from psycopg import sql

    with connect("postgres", settings, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        return True
