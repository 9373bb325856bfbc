"""`playground materialize pagila` and `playground bench pipeline`: the pipeline in one process.

The `pagila_daily` job (all 15 tables, every month of `rental` and `payment` in one run, the
checks, then `dbt build`) runs in this process, as the daily schedule would run it. Seconds per
stage come from the run's own step events.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field

from playground.config.settings import Settings, get_settings
from playground.datasets.pagila import keys
from playground.lakehouse import warehouse
from playground.orchestration.instance import instance as dagster_instance


class PipelineError(RuntimeError):
    """The pipeline run failed; the message names the failed steps and checks."""


@dataclass
class Stages:
    """Seconds per stage of one run (sums of its steps), and what it produced."""

    extract: float = 0.0
    checks: float = 0.0
    dbt: float = 0.0
    total: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    passed_checks: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    run_id: str = ""


def collect_stages(instance, result) -> Stages:
    import dagster as dg  # lazy: the bench child times this import (see _bench_child)

    spans: dict[str, list[float]] = {}
    for record in instance.all_logs(result.run_id):
        event = record.dagster_event
        if record.step_key and event and event.event_type_value in ("STEP_START", "STEP_SUCCESS"):
            spans.setdefault(record.step_key, []).append(record.timestamp)
    stages = Stages()
    for step, times in spans.items():
        seconds = max(times) - min(times)
        if step == "pagila_dbt":
            stages.dbt += seconds
        elif step.count("__") == 1 and step.split("__")[1] in keys.TABLES:
            stages.extract += seconds
        else:
            stages.checks += seconds
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        key = materialization.asset_key
        rows = materialization.metadata.get("dagster/row_count")
        if key.path[0] == "pagila" and isinstance(rows, dg.IntMetadataValue):
            stages.rows[key.path[-1]] = rows.value
    for evaluation in result.get_asset_check_evaluations():
        name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        (stages.passed_checks if evaluation.passed else stages.failed_checks).append(name)
    stages.run_id = result.run_id
    return stages


def materialize_pagila(
    settings: Settings | None = None,
    instance=None,
    partition: str | None = None,
    selection: str | None = None,
    progress=print,
) -> Stages:
    """Run the pagila job (or `selection`, an asset selection string) once.

    Args:
        partition: one month (`2022-05-01`) instead of every month.
        instance: a Dagster instance; default the one under the data directory (the UI's).
    """
    # lazy: the bench child times these imports, and the code location loads only once dbt's
    # manifest is prepared (below)
    import dagster as dg

    from playground.orchestration import dbt_project
    from playground.orchestration.defs.pagila.schedules import all_months_tags

    settings = settings or get_settings()
    dbt_project.prepare(settings=settings, progress=progress)
    from playground.orchestration.definitions import defs  # lazy: needs the manifest just made

    job = defs.resolve_job_def("pagila_daily")
    if partition is not None:
        months = job.partitions_def.get_partition_keys()
        if partition not in months:
            raise PipelineError(
                f"--partition {partition!r} is not a month of the pipeline; use one of "
                f"{', '.join(months)}."
            )
    if selection:
        job = job.get_subset(asset_selection=set(dg.AssetSelection.from_string(selection)
                                                 .resolve(defs.resolve_asset_graph())))  # fmt: skip
    tags = {} if partition else all_months_tags()
    if instance is None:
        instance = dagster_instance(settings)
    started = time.monotonic()
    try:
        with warehouse.exclusive(settings.data_dir / "pipeline.lock", "running the pagila "
                                 f"pipeline on {settings.data_dir}"):  # fmt: skip
            result = _execute(job, instance, tags, partition)
    except warehouse.WarehouseLocked as exc:
        raise PipelineError(str(exc)) from None
    stages = collect_stages(instance, result)
    stages.total = time.monotonic() - started
    if not result.success or stages.failed_checks:
        steps = [f"  {e.step_key}: {_reason(e)}" for e in result.get_step_failure_events()]
        checks = ", ".join(stages.failed_checks) or "none"
        raise PipelineError(
            f"the pagila run {result.run_id} failed.\nFailed steps:\n"
            + ("\n".join(steps) or "  none")
            + f"\nFailed checks: {checks}\nThe run's logs are in the Dagster UI (Runs)."
        )
    return stages


def _execute(job, instance, tags: dict, partition: str | None):
    return job.execute_in_process(
        instance=instance, tags=tags, partition_key=partition, raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
    )  # fmt: skip


def _reason(event) -> str:
    """The innermost error of a failed step: the user's exception, not Dagster's wrappers."""
    error = event.event_specific_data.error
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def _bench_child(scale: float) -> None:
    """In a scratch data dir already seeded: time every stage and print one JSON line."""
    import_started = time.monotonic()
    import dagster as dg  # lazy: timed, as the imports of a run

    from playground.orchestration import dbt_project

    settings = get_settings()
    prepare_started = time.monotonic()
    dbt_project.prepare(settings=settings, progress=lambda _line: None)
    prepared = time.monotonic()
    from playground.orchestration.definitions import defs  # noqa: F401 - the code location, loaded once

    loaded = time.monotonic()
    with dg.DagsterInstance.ephemeral() as instance:
        full = materialize_pagila(settings, instance, progress=lambda _line: None)
        month = materialize_pagila(
            settings, instance, partition="2022-05-01", selection="key:pagila/payment",
            progress=lambda _line: None,
        )  # fmt: skip
    tick, differing = _sensor_tick()
    report = {
        "scale": scale,
        "import_seconds": prepare_started - import_started + loaded - prepared,
        "dbt_prepare_seconds": prepared - prepare_started,
        "build": asdict(full),
        "payment_month": asdict(month),
        "sensor_tick_seconds": tick,
        "sensor_tick_differs": differing,
    }
    print("BENCH " + json.dumps(report), flush=True)


def _sensor_tick() -> tuple[float, list[str]]:
    """One evaluation of `pagila_changes`' comparison (row digests of every table on both sides,
    PostgreSQL and DuckDB over the lakehouse): its seconds and the tables it finds differing."""
    # lazy: the bench child loads the code location itself, timed, before this
    from playground.orchestration.defs.pagila.sensors import differences
    from playground.orchestration.resources import LakehouseResource, PostgresResource

    started = time.monotonic()
    found = differences(PostgresResource(), LakehouseResource())
    return time.monotonic() - started, sorted(found.tables)


if __name__ == "__main__":
    _bench_child(float(sys.argv[1]))
