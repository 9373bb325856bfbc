"""The original's daily schedule: every pagila table and dbt model, at midnight. Off until a
learner turns it on in the UI (Automation tab)."""

import dagster as dg

from playground.orchestration.defs.pagila.assets import monthly

# The run tags of a single-run backfill over a range of partitions, as the UI sets them. Dagster
# exports no public name for them; if it renames them,
# tests/orchestration/defs/pagila/test_pipeline.py fails (its run would read one month, not
# every month).
ASSET_PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
ASSET_PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"
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
