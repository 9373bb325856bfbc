"""DuckDB connections with the lakehouse extensions loaded offline.

The extensions come from the `duckdb-extension-*` wheels installed with the project, so DuckDB
never downloads anything and never writes to `~/.duckdb`. In stack mode the connection also gets
an S3 secret for the object store.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

from playground.config.secrets import scrub
from playground.config.settings import Settings, get_settings

# Load order matters: iceberg needs avro.
EXTENSIONS = ("avro", "iceberg", "httpfs", "postgres_scanner")


class ExtensionMissing(RuntimeError):
    """A DuckDB extension wheel is not installed; the message names the package."""


def extension_package(name: str) -> str:
    return "duckdb-extension-" + name.replace("_", "-")


def extension_path(name: str) -> Path:
    """Path of the extension binary inside its wheel, for the running DuckDB version."""
    module = "duckdb_extension_" + name
    spec = importlib.util.find_spec(module)
    package = extension_package(name)
    fix = f"pip install '{package}=={duckdb.__version__}' (or re-run `make install`)"
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionMissing(f"DuckDB extension {name!r} is not installed. Fix: {fix}.")
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        found = sorted(p.name for p in (root / "extensions").glob("v*"))
        raise ExtensionMissing(
            f"{package} has no build for DuckDB {duckdb.__version__} (it has {found}). Fix: {fix}."
        )
    return path


def literal(value: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def connect(
    database: str | Path = ":memory:",
    settings: Settings | None = None,
    read_only: bool = False,
    extensions: tuple[str, ...] = EXTENSIONS,
) -> duckdb.DuckDBPyConnection:
    """Open DuckDB with avro, iceberg, httpfs and postgres_scanner loaded from their wheels.

    The connection and its cursors run in UTC (`TimeZone`), like Iceberg's month transform.

    Args:
        database: a file path or ":memory:".
        settings: defaults to `get_settings()`; in stack mode an S3 secret for the object store is
            created.
        read_only: open a file database read-only (several readers may share it).
        extensions: the extensions to load (each costs up to 0.15 s per DuckDB instance).
    """
    settings = settings or get_settings()
    config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    con = duckdb.connect(str(database), read_only=read_only, config=config)
    try:
        # The time rule (playground.config.months): months and day boundaries in UTC, whatever the
        # machine's zone. GLOBAL, because a plain SET does not reach the connection's cursors.
        con.execute("SET GLOBAL TimeZone = 'UTC'")
        load_extensions(con, settings, extensions)
    except Exception:
        con.close()
        raise
    return con


def load_extensions(
    con: duckdb.DuckDBPyConnection, settings: Settings, extensions: tuple[str, ...] = EXTENSIONS
) -> None:
    """Load extensions from their wheels; on the stack, add the object store's S3 secret."""
    for name in extensions:
        con.execute(f"LOAD {literal(str(extension_path(name)))}")
    if settings.is_stack:
        configure_s3(con, settings)


def configure_s3(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Create a session S3 secret pointing at the configured object store (path-style, no TLS)."""
    endpoint = settings.s3_endpoint
    use_ssl = endpoint.startswith("https://")
    host = endpoint.split("://", 1)[-1].rstrip("/")
    con.execute(
        "CREATE OR REPLACE SECRET playground_s3 (TYPE s3, KEY_ID ?, SECRET ?, REGION ?, "
        f"ENDPOINT ?, URL_STYLE 'path', USE_SSL {'true' if use_ssl else 'false'})",
        [settings.s3_access_key, settings.s3_secret_key, settings.s3_region, host],
    )


def attach_postgres(
    con: duckdb.DuckDBPyConnection, dsn: str, alias: str, settings: Settings | None = None
) -> str:
    """Attach the PostgreSQL database `dsn` names, read-only, as `alias`; `alias`.

    DuckDB's error when it cannot connect repeats the whole connection string: it is raised
    again with every password (and each secret of `settings`) taken out.
    """
    if not alias.isidentifier():
        raise ValueError(f"{alias!r} is not a plain name for an attached database")
    try:
        con.execute(f"ATTACH {literal(dsn)} AS {alias} (TYPE postgres, READ_ONLY)")
    except duckdb.Error as exc:
        raise type(exc)(scrub(str(exc), settings)) from None
    return alias


class NoRestCatalog(RuntimeError):
    """DuckDB attaches only a REST catalog; embedded mode's catalog is a SQLite one."""


def attach_lakehouse(
    con: duckdb.DuckDBPyConnection, settings: Settings, alias: str = "lake"
) -> str:
    """Attach the stack's Iceberg REST catalog as database `alias` (read and write); `alias`.

    `lake.<namespace>.<table>` then reads like any table, and CREATE TABLE, INSERT, UPDATE,
    DELETE and MERGE INTO commit Iceberg snapshots through the catalog (data files go to the
    bucket with the connection's S3 secret). Raises NoRestCatalog in embedded mode.
    """
    if not settings.is_stack:
        raise NoRestCatalog(
            "DuckDB writes Iceberg through a REST catalog, which the stack has and embedded mode "
            "does not (its catalog is SQLite). Start the stack (`playground stack up`) and set "
            "PLAYGROUND_MODE=stack; in embedded mode DuckDB reads the lakehouse through views."
        )
    if not alias.isidentifier():
        raise ValueError(f"{alias!r} is not a plain name for an attached database")
    con.execute(
        f"ATTACH OR REPLACE {literal(settings.catalog_name)} AS {alias} "
        f"(TYPE iceberg, ENDPOINT {literal(settings.catalog_uri)}, "
        f"TOKEN {literal(settings.catalog_token)})"  # the catalog's bearer token
    )
    return alias


def loaded_extensions(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select extension_name from duckdb_extensions() where loaded order by 1"
    ).fetchall()
    return [r[0] for r in rows]
