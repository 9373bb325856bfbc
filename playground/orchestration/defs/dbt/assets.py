"""The dbt project (`dbt_project/`) as Dagster assets: staging views and marts in the warehouse.

Loaded from the manifest `orchestration.dbt_project.prepare()` wrote ahead of time; the location
never parses the project. dbt sources are the `pagila/<table>` assets, so the lineage runs
`pagila/<table>` → `staging/stg_<table>` → `marts/<model>`, and dbt's tests are asset checks.
"""

import json
from collections.abc import Mapping
from functools import cached_property
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets
from dbt.version import __version__ as dbt_version
from packaging import version

from playground.config.files import write_private
from playground.config.settings import get_settings
from playground.lakehouse import warehouse
from playground.orchestration import dbt_lakehouse, dbt_project
from playground.orchestration.resources import LakehouseResource


class PlaygroundTranslator(DagsterDbtTranslator):
    """Sources keep dbt's `[source, table]` keys (= the `pagila/<table>` assets); models are keyed
    and grouped by their folder: `staging/stg_payment`, `marts/sales_by_film`."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "model":
            return dg.AssetKey(
                [self.get_group_name(dbt_resource_props), dbt_resource_props["name"]]
            )
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "marts"


class PlaygroundDbtCliResource(DbtCliResource):
    """dagster-dbt's CLI resource without two probes it makes before every dbt command.

    It runs `dbt --version` in a subprocess and builds an in-process dbt adapter (loading every
    macro) so that it could fetch column metadata and row counts; together about 8 s per run here,
    a third of a full pipeline at SF 10. dbt runs from this virtualenv, so its version is the
    installed dbt-core's; and no asset here asks for adapter metadata. (dagster-dbt 0.29.27,
    pinned; `tests/dbt` runs a real build through this class.)
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(dbt_version)

    def _initialize_dbt_core_adapter(self, args):
        return None


def _manifest():
    settings = get_settings()
    if not dbt_project.is_prepared(settings):
        raise dbt_project.DbtProjectError(
            f"the dbt manifest {dbt_project.manifest_path(settings)} is missing or older than the "
            "dbt project. Run `playground dbt prepare` (`playground run` does it for you)."
        )
    return dbt_project.manifest_path(settings)


@dbt_assets(manifest=_manifest(), dagster_dbt_translator=PlaygroundTranslator())
def pagila_dbt(
    context: dg.AssetExecutionContext, dbt: PlaygroundDbtCliResource, lakehouse: LakehouseResource
):
    """`dbt build` of the selected models (and their tests) into the DuckDB warehouse file."""
    settings = get_settings()
    try:
        warehouse.check_writable(settings.duckdb_path)
    except warehouse.WarehouseLocked as exc:
        raise dg.Failure(str(exc)) from None
    tables = dbt_lakehouse.current_tables(["pagila"], settings, lakehouse.catalog())
    # The build reads these tables' current snapshots (the plugin need not open the catalog),
    # with the profile and artifacts folder of the data directory this run uses.
    tables_file = dbt_project.tables_file(settings)
    args = ["build", "--profiles-dir", str(dbt_project.profiles_dir(settings))]
    target = dbt_project.run_target(settings, context.run.run_id)
    lock = settings.duckdb_path.with_name(settings.duckdb_path.name + ".lock")
    try:
        with warehouse.exclusive(lock, "building the warehouse with dbt"):
            write_private(tables_file, json.dumps(tables))
            try:
                invocation = dbt.cli(args, context=context, raise_on_error=False,
                                     target_path=target)  # fmt: skip
                yield from invocation.stream()
            finally:
                tables_file.unlink(missing_ok=True)
    except warehouse.WarehouseLocked as exc:
        raise dg.Failure(str(exc)) from None
    if not invocation.is_successful():
        report = failures(invocation)
        context.log.error(f"dbt build failed:\n{report}")
        raise dg.Failure("dbt build failed.", metadata={"failures": dg.MetadataValue.md(report)})


def failures(invocation) -> str:
    """Each failed dbt node with its message and, for a test, the query that finds its rows."""
    try:
        results = invocation.get_artifact("run_results.json").get("results", [])
    except FileNotFoundError:
        return "dbt stopped before it wrote run_results.json; see the dbt log above"
    parts = []
    for result in results:
        if result.get("status") not in ("fail", "error"):
            continue
        name = result["unique_id"].split(".")[-1]
        failed = result.get("failures")
        message = (result.get("message") or "").strip()
        parts.append(f"**{name}** ({result['status']}{f', {failed} rows' if failed else ''})")
        if message:
            parts.append(f"\n{message}\n")
        if result["unique_id"].startswith("test.") and result.get("compiled_code"):
            parts.append(f"Rows it found:\n```sql\n{result['compiled_code'].strip()}\n```\n")
    return "\n".join(parts) or "no failed node in run_results.json; see the dbt log above"


@dg.definitions
def dbt_resources() -> dg.Definitions:
    return dg.Definitions(
        assets=[pagila_dbt],
        resources={
            "dbt": PlaygroundDbtCliResource(
                project_dir=str(dbt_project.project_dir()),
                dbt_executable=str(dbt_project.executable()),
            )
        },
    )
