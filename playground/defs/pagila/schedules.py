"""The original's daily schedule: every pagila table and dbt model, at midnight. Off until a
learner turns it on in the UI (Automation tab)."""

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from playground.defs.pagila.assets import monthly

EVERYTHING = dg.AssetSelection.groups("pagila", "staging", "marts")
pagila_daily_job = dg.define_asset_job("pagila_daily", selection=EVERYTHING)


def all_months_tags() -> dict[str, str]:
    """Run tags that make one run read every month of the partitioned tables (one commit each)."""
    keys = monthly.get_partition_keys()
    return {
        ASSET_PARTITION_RANGE_START_TAG: keys[0],
        ASSET_PARTITION_RANGE_END_TAG: keys[-1],
    }


@dg.schedule(
    cron_schedule="0 0 * * *",
    job=pagila_daily_job,
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def pagila_daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Refresh every pagila table (all months) and rebuild the marts, once a day."""
    return dg.RunRequest(tags=all_months_tags())
