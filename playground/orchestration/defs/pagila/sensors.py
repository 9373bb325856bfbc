"""The pagila tables kept up to date by replacing what changed (lesson 05's "changed months").

Every few minutes (once turned on: Automation tab) the sensor digests each pagila table per month
in PostgreSQL and in the lakehouse (`playground.extract.reconcile.compare`: a hash of every row)
and requests one run of the tables that differ: the partitioned ones (`rental`, `payment`) over
the range of months that changed, in one commit each, the small ones replaced whole; a table
whose columns changed, over every month.

The run key is PostgreSQL's side of the differences (the digests of the months that differ, the
column changes) and the number of runs already made for that state: a new change gives a new key
whatever months it touches, the same state is never requested twice while it has a run queued or
running, and a run that failed is retried at a later tick under the next key. While any run of
the job is queued or running, the sensor waits: runs never overlap.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import dagster as dg

from playground.config.settings import get_settings
from playground.datasets.pagila import keys
from playground.extract.reconcile import WHOLE_TABLE, Comparison, Source, compare, snapshot
from playground.orchestration.defs.pagila.assets import NAMESPACE, PARTITION_COLUMNS, monthly
from playground.orchestration.defs.pagila.schedules import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    all_months_tags,
)
from playground.orchestration.resources import LakehouseResource, PostgresResource

TABLES = dg.AssetSelection.groups(NAMESPACE)
pagila_changes_job = dg.define_asset_job("pagila_changed_tables", selection=TABLES)
STATE_TAG = "playground/changes"  # the state a run was requested for (its run key's stem)
INTERVAL_VARIABLE = "PLAYGROUND_SENSOR_INTERVAL"
UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def interval_seconds() -> int:
    """Seconds between ticks: PLAYGROUND_SENSOR_INTERVAL (300 by default).

    Read when the code location loads: Dagster fixes a sensor's interval at definition.
    """
    return max(1, round(get_settings().sensor_interval))


@dataclass(frozen=True)
class Differences:
    """Table → its comparison with PostgreSQL, for the tables that differ."""

    tables: dict[str, Comparison] = field(default_factory=dict)

    def months(self, table: str) -> list[str]:
        return self.tables[table].months

    def state(self) -> str:
        """PostgreSQL's side of the differences, hashed: a new change gives a new state."""
        said = []
        for table, found in sorted(self.tables.items()):
            digests = found.postgres if found.months == [WHOLE_TABLE] else {
                m: found.postgres.get(m) for m in found.months}  # fmt: skip
            said.append((table, found.months, sorted(digests.items()), found.schema))
        return hashlib.sha256(repr(said).encode()).hexdigest()[:16]

    def tags(self) -> dict[str, str]:
        """Range tags over the months that differ; every month when one is outside them."""
        partitioned = [t for t in self.tables if t in PARTITION_COLUMNS]
        months = sorted({m for t in partitioned for m in self.months(t)})
        keys = set(monthly.get_partition_keys())
        if months and all(f"{m}-01" in keys for m in months):
            return {ASSET_PARTITION_RANGE_START_TAG: f"{months[0]}-01",
                    ASSET_PARTITION_RANGE_END_TAG: f"{months[-1]}-01"}  # fmt: skip
        return all_months_tags() if partitioned else {}

    def run_request(self, attempt: int = 0) -> dg.RunRequest | None:
        """The run replacing what differs; `attempt`: runs already made for this state."""
        if not self.tables:
            return None
        state = self.state()
        return dg.RunRequest(
            run_key=f"{state}-{attempt}",
            asset_selection=[dg.AssetKey([NAMESPACE, t]) for t in sorted(self.tables)],
            tags={**self.tags(), STATE_TAG: state},
        )


def differences(postgres: PostgresResource, lakehouse: LakehouseResource) -> Differences:
    """The pagila tables whose lakehouse copy differs from PostgreSQL, and where."""
    cat = lakehouse.catalog()
    source = Source(postgres.database_name(), postgres.settings(), cat)
    found: dict[str, Comparison] = {}
    try:
        with snapshot(source) as conn:  # one state of PostgreSQL for every table
            for table in keys.TABLES:
                identifier, column = f"{NAMESPACE}.{table}", PARTITION_COLUMNS.get(table)
                compared = compare(source, table, identifier, column, conn)
                if compared.months:
                    found[table] = compared
    finally:
        source.close()
    return Differences(found)


def _describe(found: Differences) -> str:
    said = []
    for table, compared in sorted(found.tables.items()):
        columns = f" ({', '.join(compared.schema)})" if compared.schema else ""
        said.append(f"{table}: {', '.join(compared.months)}{columns}")
    return "; ".join(said)


@dg.sensor(
    job=pagila_changes_job,
    minimum_interval_seconds=interval_seconds(),
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def pagila_changes(
    context: dg.SensorEvaluationContext, postgres: PostgresResource, lakehouse: LakehouseResource
):
    """Replace the pagila months and tables whose rows differ from PostgreSQL's."""
    running = context.instance.get_runs(
        filters=dg.RunsFilter(job_name=pagila_changes_job.name, statuses=UNFINISHED), limit=1
    )
    if running:
        return dg.SkipReason(f"run {running[0].run_id} is {running[0].status.value}: waiting")
    found = differences(postgres, lakehouse)
    if not found.tables:
        return dg.SkipReason("the lakehouse holds what PostgreSQL holds")
    earlier = context.instance.get_runs(filters=dg.RunsFilter(tags={STATE_TAG: found.state()}))
    context.log.info(f"changed: {_describe(found)}")
    if earlier:
        context.log.info(f"again after run {earlier[0].run_id} ({earlier[0].status.value})")
    return found.run_request(attempt=len(earlier))
