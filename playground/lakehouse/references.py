"""Every file the Iceberg catalogs of a data directory reference, whatever their catalog name.

Read from the catalogs' own tables, every table row of `iceberg_tables` (any `catalog_name`;
views, which the stack's JDBC catalog keeps there too, list no files): the
embedded SQLite catalog (`catalog.db`) and the stack's JDBC catalog in PostgreSQL (the REST
catalog keeps its tables there). For each table: its current and previous metadata files, every
snapshot they list (expired ones too), and the manifest lists, manifests, data and delete files
of each. When this cannot be known (a catalog that cannot be opened, a metadata file that cannot
be read), `Unprovable` says why and what to do.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pyiceberg.io import load_file_io
from pyiceberg.serializers import FromInputFile

from playground.config.settings import Settings
from playground.services import postgres
from playground.services.net import probe


class Unprovable(RuntimeError):
    """What the catalogs reference cannot be known; `hint` is the command that fixes it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Entry:
    """One row of a catalog's `iceberg_tables`."""

    where: str  # the catalog store, for messages
    catalog_name: str
    table: str
    metadata_location: str | None
    previous_metadata_location: str | None


_SELECT = (
    "select catalog_name, table_namespace, table_name, metadata_location, "
    "previous_metadata_location from iceberg_tables"
)
# A JDBC catalog with schema V1 (the stack's) keeps views in the same table, marked VIEW: a view's
# metadata lists no files, and is no table's metadata to read through.
_TABLES_ONLY = " where iceberg_type is null or iceberg_type <> 'VIEW'"


def _select(columns: set[str]) -> str:
    """The query for `iceberg_tables` given its column names (lower case)."""
    return _SELECT + (_TABLES_ONLY if "iceberg_type" in columns else "")


def sqlite_entries(path: Path) -> list[Entry]:
    """Every row of the embedded catalog's `iceberg_tables` (none when the file does not exist)."""
    if not path.exists():
        return []
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30) as conn:
            has_table = conn.execute(
                "select 1 from sqlite_master where type = 'table' and name = 'iceberg_tables'"
            ).fetchone()
            columns = {r[1].lower() for r in conn.execute("pragma table_info(iceberg_tables)")}
            rows = conn.execute(_select(columns)).fetchall() if has_table else []
    except sqlite3.Error as exc:
        raise Unprovable(
            f"the catalog {path} cannot be read ({exc})",
            f"check {path} (`playground doctor`); nothing is removed until it can be read",
        ) from None
    return [Entry(str(path), r[0], f"{r[1]}.{r[2]}", r[3], r[4]) for r in rows]


def jdbc_entries(settings: Settings) -> list[Entry]:
    """Every row of the stack's JDBC catalog (`iceberg_tables` in database `catalog_db`).

    In embedded mode that database lives in the embedded server once `playground stack up` ran
    in this data directory; it is read when it exists there. A server that is not running hides
    whether it does.
    """
    where = f"database {settings.catalog_db!r}"
    if not postgres.status(settings).running:
        if settings.is_stack or settings.pgdata.is_dir():
            fix = "playground stack up" if settings.is_stack else "playground services start"
            raise Unprovable(
                f"the stack's catalog ({where}) cannot be read: PostgreSQL is not running", fix
            )
        return []
    try:
        with postgres.connect("postgres", settings) as conn:
            known = conn.execute(
                "select 1 from pg_database where datname = %s", (settings.catalog_db,)
            ).fetchone()
        if not known:
            return []
        with postgres.connect(settings.catalog_db, settings) as conn:
            if conn.execute("select to_regclass('iceberg_tables')").fetchone()[0] is None:
                return []
            columns = conn.execute(
                "select lower(column_name) from information_schema.columns "
                "where table_name = 'iceberg_tables' and table_schema = current_schema()"
            ).fetchall()
            rows = conn.execute(_select({c[0] for c in columns})).fetchall()
    except Exception as exc:  # any failure means the catalog's rows are unknown
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise Unprovable(
            f"the stack's catalog ({where}) cannot be read: {first}", "playground doctor"
        ) from None
    return [Entry(where, r[0], f"{r[1]}.{r[2]}", r[3], r[4]) for r in rows]


def entries(settings: Settings) -> list[Entry]:
    """Every table of every catalog of the data directory, both modes', any catalog name."""
    return sqlite_entries(settings.data_dir / "catalog.db") + jdbc_entries(settings)


def forms(path: str) -> set[str]:
    """The spellings a file may be listed under: without scheme, decoded, and (local) resolved."""
    parts = urlsplit(path)
    if parts.scheme == "file":
        bare = parts.path
    elif parts.scheme and len(parts.scheme) > 1:  # s3://bucket/key -> bucket/key
        bare = path.split("://", 1)[-1] if "://" in path else path.split(":", 1)[-1]
    else:
        bare = path
    found = {bare, unquote(bare)}
    if not parts.scheme or parts.scheme == "file":
        found |= {os.path.realpath(p) for p in list(found) if p.startswith("/")}
    return found


def _io_properties(settings: Settings) -> dict[str, str]:
    return {
        "s3.endpoint": settings.s3_endpoint,
        "s3.access-key-id": settings.s3_access_key,
        "s3.secret-access-key": settings.s3_secret_key,
        "s3.region": settings.s3_region,
        "s3.path-style-access": "true",
        "s3.connect-timeout": "5",
    }


def _check_reachable(location: str, settings: Settings, entry: Entry) -> None:
    if not location.startswith(("s3://", "s3a://", "s3n://")):
        return
    endpoint = urlsplit(settings.s3_endpoint)
    if probe(endpoint.hostname or "localhost", endpoint.port or 80, timeout=3) is not None:
        raise Unprovable(
            f"table {entry.table} of catalog {entry.catalog_name!r} ({entry.where}) keeps its "
            f"metadata in the object store at {settings.s3_endpoint}, which does not answer",
            "playground stack up (or docker compose up --wait)",
        )


class _Walk:
    """The files one table references, through every metadata file it still lists."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.files: set[str] = set()
        self.seen: set[str] = set()

    def table(self, entry: Entry) -> None:
        location = entry.metadata_location
        if not location:
            return
        _check_reachable(location, self.settings, entry)
        io = load_file_io(_io_properties(self.settings), location)
        try:
            current = FromInputFile.table_metadata(io.new_input(location))
        except Exception as exc:  # an unreadable table hides which files it holds
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise Unprovable(
                f"table {entry.table} of catalog {entry.catalog_name!r} ({entry.where}): its "
                f"metadata {location} cannot be read ({first})",
                "repair or drop that table; nothing is removed meanwhile",
            ) from None
        self.files |= {location, entry.previous_metadata_location or location}
        current_lists = {s.manifest_list for s in current.snapshots}
        self._metadata(current, io, current_lists)
        for logged in current.metadata_log:
            self.files.add(logged.metadata_file)
            try:
                old = FromInputFile.table_metadata(io.new_input(logged.metadata_file))
            except FileNotFoundError:
                continue  # a metadata file removed after a later commit lists nothing now
            self._metadata(old, io, current_lists)

    def _metadata(self, metadata, io, current_lists: set[str]) -> None:
        for stats in [*metadata.statistics, *metadata.partition_statistics]:
            self.files.add(stats.statistics_path)
        for snapshot in metadata.snapshots:
            if snapshot.manifest_list in self.seen:
                continue
            self.seen.add(snapshot.manifest_list)
            self.files.add(snapshot.manifest_list)
            try:
                for manifest in snapshot.manifests(io):
                    self._manifest(manifest, io)
            except FileNotFoundError:
                if snapshot.manifest_list in current_lists:
                    raise Unprovable(
                        f"a manifest of a current snapshot is missing ({snapshot.manifest_list})",
                        "repair or drop that table; nothing is removed meanwhile",
                    ) from None
                # an expired snapshot whose files were removed with it: it lists nothing now

    def _manifest(self, manifest, io) -> None:
        if manifest.manifest_path in self.seen:
            return
        self.seen.add(manifest.manifest_path)
        self.files.add(manifest.manifest_path)
        for entry in manifest.fetch_manifest_entry(io, discard_deleted=False):
            self.files.add(entry.data_file.file_path)


def referenced(settings: Settings) -> set[str]:
    """Every file (in each of its spellings, see `forms`) a table of any catalog references.

    Raises:
        Unprovable: a catalog or a table's metadata cannot be read.
    """
    walk = _Walk(settings)
    for entry in entries(settings):
        try:
            walk.table(entry)
        except Unprovable:
            raise
        except Exception as exc:  # a manifest that cannot be read hides which files it lists
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise Unprovable(
                f"table {entry.table} of catalog {entry.catalog_name!r} ({entry.where}) cannot "
                f"be read through: {first}",
                "repair or drop that table; nothing is removed meanwhile",
            ) from None
    return {form for path in walk.files for form in forms(path)}
