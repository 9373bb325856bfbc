"""A dbt-duckdb plugin: every Iceberg table visible to dbt as `lakehouse.<namespace>.<table>`.

`profiles.yml` lists it under `plugins:`. When dbt opens the warehouse file it loads DuckDB's
extensions from their wheels (nothing downloaded), attaches an in-memory database `lakehouse`, and
creates one view per Iceberg table over `iceberg_scan(<current metadata file>)`. dbt sources then
name `database: lakehouse`: the marts read the lakehouse tables in place, no copy is made, and the
warehouse file never stores a path into the lakehouse.

The Dagster asset that runs dbt already has the catalog open: it leaves each table's current
metadata file in the profile's `tables_file` (JSON) for the build, which spares dbt's process
importing PyIceberg and opening the catalog (about 4 s). Without it (dbt run by hand) the plugin
asks the catalog itself.
"""

import json
from pathlib import Path

from dbt.adapters.duckdb.plugins import BasePlugin

from playground.config.names import IDENTIFIER, check_identifier
from playground.config.settings import Settings, get_settings
from playground.engines import duck

DATABASE = "lakehouse"


def current_tables(namespaces: list[str], settings: Settings | None = None, cat=None) -> dict:
    """`namespace.table` → its current metadata file, for every table of `namespaces`."""
    # lazy: dbt runs given the tables never import PyIceberg (about 4 s spared per build)
    from playground import lakehouse

    settings = settings or get_settings()
    cat = cat or lakehouse.catalog(settings)
    found = {}
    for namespace in namespaces:
        if (namespace,) not in cat.list_namespaces():
            continue
        for *_, name in cat.list_tables(namespace):
            if IDENTIFIER.match(name):  # names other engines made that need quoting are left out
                identifier = f"{namespace}.{name}"
                found[identifier] = lakehouse.metadata_location(identifier, settings, cat)
    return found


def attach_lakehouse(con, namespaces: list[str], tables: dict[str, str]) -> None:
    """Attach `lakehouse` to `con` with a view `lakehouse.<ns>.<table>` per entry of `tables`."""
    con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {DATABASE}")
    for namespace in namespaces:
        check_identifier(f"{namespace}.x")
        con.execute(f'CREATE SCHEMA IF NOT EXISTS {DATABASE}."{namespace}"')
    for identifier, location in sorted(tables.items()):
        namespace, table = check_identifier(identifier)
        con.execute(
            f'CREATE OR REPLACE VIEW {DATABASE}."{namespace}"."{table}" AS '  # noqa: S608
            f"SELECT * FROM iceberg_scan({duck.literal(location)})"
        )


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict) -> None:
        self.namespaces = list(plugin_config.get("namespaces", ["pagila"]))
        self.tables_file = plugin_config.get("tables_file")

    def update_connection_config(self, creds, config: dict) -> None:
        # Extensions come from their wheels; DuckDB must not try to download any.
        config["autoinstall_known_extensions"] = False
        config["autoload_known_extensions"] = False

    def configure_connection(self, conn) -> None:
        settings = get_settings()
        duck.load_extensions(conn, settings, ("avro", "iceberg", "httpfs"))
        given = Path(self.tables_file) if self.tables_file else None
        if given is not None and given.is_file():
            tables = json.loads(given.read_text("utf-8"))
        else:
            tables = current_tables(self.namespaces, settings)
        attach_lakehouse(conn, self.namespaces, tables)
