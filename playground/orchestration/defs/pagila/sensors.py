"""The pagila tables kept up to date by replacing what changed (lesson 05's "changed months").

Every few minutes (once turned on: Automation tab) the sensor fingerprints each pagila table per
month in PostgreSQL and in the lakehouse (`playground.extract.reconcile.changed_months`) and
requests one run of the tables that differ: the partitioned ones (`rental`, `payment`) over the
range of months that changed, in one commit each, the small ones replaced whole. Inserts,
updates and deletes all move a fingerprint; nothing has to be remembered between ticks, and a
request repeats only when PostgreSQL changed again (its run key is the set of differences).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import dagster as dg

from playground.datasets.pagila import keys
from playground.extract.reconcile import WHOLE_TABLE, Source, changed_months
from playground.orchestration.defs.pagila.assets import NAMESPACE, PARTITION_COLUMNS, monthly
from playground.orchestration.defs.pagila.schedules import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    all_months_tags,
)
from playground.orchestration.resources import LakehouseResource, PostgresResource

TABLES = dg.AssetSelection.groups(NAMESPACE)
pagila_changes_job = dg.define_asset_job("pagila_changed_tables", selection=TABLES)


@dataclass(frozen=True)
class Differences:
    """Table → the months (`YYYY-MM`) whose fingerprints differ; unpartitioned: ["whole table"]."""

    tables: dict[str, list[str]] = field(default_factory=dict)

    def run_request(self) -> dg.RunRequest | None:
        if not self.tables:
            return None
        months = sorted({m for t, ms in self.tables.items() if t in PARTITION_COLUMNS for m in ms})
        keys = set(monthly.get_partition_keys())
        tags = {}
        if months and all(f"{m}-01" in keys for m in months):
            tags = {ASSET_PARTITION_RANGE_START_TAG: f"{months[0]}-01",
                    ASSET_PARTITION_RANGE_END_TAG: f"{months[-1]}-01"}  # fmt: skip
        elif any(t in PARTITION_COLUMNS for t in self.tables):
            tags = all_months_tags()  # a month outside the partitions: read the whole table
        said = repr(sorted(self.tables.items())).encode()
        return dg.RunRequest(
            run_key=hashlib.sha256(said).hexdigest()[:16],
            asset_selection=[dg.AssetKey([NAMESPACE, t]) for t in sorted(self.tables)],
            tags=tags,
        )


def differences(postgres: PostgresResource, lakehouse: LakehouseResource) -> Differences:
    """The pagila tables whose lakehouse copy differs from PostgreSQL, and where."""
    cat = lakehouse.catalog()
    source = Source(postgres.database_name(), postgres.settings(), cat)
    found: dict[str, list[str]] = {}
    try:
        for table in keys.TABLES:
            identifier = f"{NAMESPACE}.{table}"
            if not cat.table_exists(identifier):
                found[table] = [WHOLE_TABLE]
                continue
            months = changed_months(source, table, identifier, PARTITION_COLUMNS.get(table))
            if months:
                found[table] = months
    finally:
        source.close()
    return Differences(found)


@dg.sensor(
    job=pagila_changes_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def pagila_changes(
    context: dg.SensorEvaluationContext, postgres: PostgresResource, lakehouse: LakehouseResource
):
    """Replace the pagila months and tables whose fingerprints differ from PostgreSQL's."""
    found = differences(postgres, lakehouse)
    request = found.run_request()
    if request is None:
        return dg.SkipReason("the lakehouse holds what PostgreSQL holds")
    context.log.info(f"changed: {found.tables}")
    return request
