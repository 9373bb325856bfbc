"""Every setting that differs between embedded and stack mode, read at call time.

Values come from the process environment first, then from the project's `.env` file (if present),
then from the defaults below, which match `.env.example`; keys and passwords left empty are
generated once per data directory (`config.secrets`). Nothing is read at import time: call
`get_settings()` where a value is needed.

Kept by hand rather than pydantic-settings: a frozen dataclass that `dataclasses.replace` derives
from (the tests and the stack do), every error one line naming the variable and its fix, and no
pydantic import on the command's start-up path (`playground --help` in 0.1 s).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

from dotenv import dotenv_values

from playground.config import secrets as install_secrets
from playground.config.files import make_private, private_dir_mode, private_umask

MODES = ("embedded", "stack")
# Names the file read instead of `<project>/.env` (the test suite points it at nothing).
ENV_FILE_VARIABLE = "PLAYGROUND_ENV_FILE"
# How to start the stack, for every message that needs it.
START_STACK = "`docker compose up --wait` (without Docker: `playground stack up`)"


class SettingsError(ValueError):
    """A setting has a value the playground cannot use; the message names the variable and fix."""


class ServiceUnavailable(RuntimeError):
    """A service the playground needs cannot be reached; the message says how to start it."""


def project_root() -> Path:
    """The folder holding `pyproject.toml` for an editable install, else the current directory."""
    candidate = Path(__file__).resolve().parents[2]
    if (candidate / "pyproject.toml").is_file() and (candidate / "playground").is_dir():
        return candidate
    return Path.cwd()


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Field names map to `PLAYGROUND_<NAME>` environment variables."""

    mode: str = "embedded"
    data_dir: Path = Path(".playground")
    # PostgreSQL (stack service; the embedded server ignores host/port/user/password)
    pg_host: str = "localhost"
    pg_port: int = 5432
    pg_user: str = "playground"
    pg_password: str = (
        ""  # generated per data directory (playground.config.secrets), like the keys below
    )
    # The read-only role Trino's postgresql catalog logs in as (SELECT on pagila, owns nothing)
    pg_reader_password: str = ""
    pagila_db: str = "pagila"
    # Scale factor the stack's pagila-seed service generates at the first `docker compose up`
    pagila_scale: float = 1.0
    catalog_db: str = "iceberg_catalog"
    # Iceberg catalog shared by PyIceberg, DuckDB and Trino: its name (the catalog_name column
    # of the catalog's tables) and, on the stack, the REST catalog server in front of them
    catalog_name: str = "playground"
    catalog_uri: str = "http://localhost:8181"
    # The bearer token every client sends to the stack's REST catalog (generated)
    catalog_token: str = ""
    # S3-compatible object store (stack)
    s3_endpoint: str = "http://localhost:9000"
    s3_access_key: str = "playground"
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    s3_bucket: str = "warehouse"
    # Trino (stack)
    trino_host: str = "localhost"
    trino_port: int = 8080
    trino_user: str = "playground"
    trino_password: str = ""
    trino_scheme: str = "http"
    trino_spooling_key: str = ""
    trino_internal_secret: str = ""  # the compose stack's nodes (`stack up` draws its own)
    # BI of the stack: Metabase and Superset (admins created from these at first start)
    metabase_port: int = 3030
    metabase_admin_email: str = "admin@example.com"
    metabase_admin_password: str = ""
    superset_port: int = 8088
    superset_admin_user: str = "admin"
    superset_admin_password: str = ""
    superset_secret_key: str = ""
    # Snowflake as an optional warehouse for the Dagster assets (the `snowflake` extra); wired
    # only when the account is set. The password is read from the environment at run time.
    snowflake_account: str = ""
    snowflake_user: str = ""
    snowflake_password: str = ""
    snowflake_database: str = ""
    snowflake_warehouse: str = ""
    # Local UIs started by `make run`
    dagster_port: int = 3000
    marimo_port: int = 2718
    # Seconds between the pagila_changes sensor's comparisons (once it is turned on in the UI)
    sensor_interval: float = 300.0

    @property
    def is_stack(self) -> bool:
        return self.mode == "stack"

    @property
    def pgdata(self) -> Path:
        """Data directory of the embedded PostgreSQL server."""
        return self.data_dir / "pgdata"

    @property
    def warehouse(self) -> str:
        """Where Iceberg data and metadata files live: a local folder, or the stack's bucket.

        The local folder is a plain path, not a `file://` URI: PyIceberg and pyarrow take a
        URI's percent-encoding literally (a space becomes a folder named `%20`) and cut it at
        `#`, so a URI would put the tables beside the data directory instead of inside it.
        """
        if self.is_stack:
            return f"s3://{self.s3_bucket}/"
        return str(self.data_dir / "warehouse")

    @property
    def duckdb_path(self) -> Path:
        """The DuckDB warehouse file (dbt marts, BI)."""
        return self.data_dir / "playground.duckdb"


def env_name(field_name: str) -> str:
    return f"PLAYGROUND_{field_name.upper()}"


def as_environment(settings: Settings) -> dict[str, str]:
    """`settings` as the PLAYGROUND_* variables a child process reads them from (pass them in
    its environment, never on its command line: they hold passwords)."""
    return {env_name(f.name): str(getattr(settings, f.name)) for f in fields(settings)}


def _raw_values(env_file: Path | None) -> dict[str, str]:
    values: dict[str, str] = {}
    if env_file is None:
        env_file = Path(os.environ.get(ENV_FILE_VARIABLE) or project_root() / ".env")
    if env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update({k: v for k, v in os.environ.items() if k.startswith("PLAYGROUND_")})
    return values


def _private(path: Path) -> None:
    """Give the data directory `private_dir_mode()` if we own it."""
    if not hasattr(os, "geteuid"):
        return  # Windows: no POSIX modes
    mode = private_dir_mode()
    info = path.stat()
    if info.st_uid == os.getuid() and info.st_mode & 0o777 != mode:
        path.chmod(mode)


def _check_writable(path: Path, variable: str) -> Path:
    private_umask()  # everything written from here on is its owner's only
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        _private(path)
        make_private(path)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise SettingsError(
            f"{variable}={path} is not a writable directory ({exc.strerror}). "
            f"Point {variable} at a folder you can write to, or unset it to use "
            f"{project_root() / '.playground'}."
        ) from None
    return path


def get_settings(env_file: Path | None = None) -> Settings:
    """Build the settings from the environment and `.env`, validating every value.

    Args:
        env_file: Read this file instead of the project's `.env` (tests).

    Raises:
        SettingsError: a value is invalid; the message names the variable and how to fix it.
    """
    raw = _raw_values(env_file)
    known = {env_name(f.name) for f in fields(Settings)} | {ENV_FILE_VARIABLE}
    unknown = sorted(k for k in raw if k.startswith("PLAYGROUND_") and k not in known)
    if unknown:
        raise SettingsError(
            f"Unknown setting {', '.join(unknown)}. Known settings are listed in .env.example."
        )
    kwargs: dict[str, object] = {}
    for f in fields(Settings):
        variable = env_name(f.name)
        if variable not in raw:
            continue
        value = raw[variable].strip()
        if not value and (f.type != "str" or f.name == "mode"):
            continue  # an empty number, mode or path (`PLAYGROUND_DATA_DIR=`) means the default
        if f.type == "int":
            try:
                number = int(value)
            except ValueError:
                raise SettingsError(f"{variable}={value!r} is not a whole number.") from None
            if not 0 < number < 65536:
                raise SettingsError(f"{variable}={number} is not a TCP port (1-65535).")
            kwargs[f.name] = number
        elif f.type == "float":
            try:
                kwargs[f.name] = float(value)
            except ValueError:
                raise SettingsError(f"{variable}={value!r} is not a number.") from None
            if not kwargs[f.name] > 0:
                raise SettingsError(f"{variable}={value} must be above 0.")
        elif f.type == "Path":
            kwargs[f.name] = Path(value).expanduser()
        else:
            kwargs[f.name] = value

    if kwargs.get("trino_scheme", "http") not in ("http", "https"):
        raise SettingsError(
            f"PLAYGROUND_TRINO_SCHEME={kwargs['trino_scheme']!r} must be http or https."
        )
    mode = str(kwargs.get("mode", Settings.mode)).lower()
    if mode not in MODES:
        raise SettingsError(
            f"PLAYGROUND_MODE={mode!r} is not a mode. Use 'embedded' (default, no Docker) or "
            "'stack' (after `docker compose up --wait`)."
        )
    kwargs["mode"] = mode
    data_dir = Path(kwargs.get("data_dir", project_root() / ".playground"))  # type: ignore[arg-type]
    if not data_dir.is_absolute():
        data_dir = project_root() / data_dir
    kwargs["data_dir"] = _check_writable(data_dir.resolve(), "PLAYGROUND_DATA_DIR")
    if any(not kwargs.get(field) for field in install_secrets.GENERATED):
        generated = install_secrets.load(kwargs["data_dir"])  # type: ignore[arg-type]
        for field, value in generated.items():
            kwargs[field] = kwargs.get(field) or value
    return Settings(**kwargs)  # type: ignore[arg-type]
