"""The pagila_changes sensor keeps the lakehouse equal to PostgreSQL through days of changes:
each day's run replaces exactly the months and tables that changed (one commit each)."""

from __future__ import annotations

import dagster as dg
import pytest

from playground import lakehouse
from playground.datasets.pagila import changes, keys, seed
from playground.extract.reconcile import Source, differences
from playground.orchestration.definitions import defs
from playground.orchestration.defs.pagila import sensors
from playground.orchestration.defs.pagila.schedules import all_months_tags
from playground.orchestration.resources import LakehouseResource, PostgresResource
from playground.services import postgres

pytestmark = pytest.mark.slow


def _tick(instance) -> dg.RunRequest | dg.SkipReason:
    resources = {"postgres": PostgresResource(), "lakehouse": LakehouseResource()}
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        return sensors.pagila_changes(context)


def test_three_days_of_changes_land_through_the_sensor(fresh_postgres) -> None:
    seed.seed(0.05, 7, progress=lambda _line: None)
    assets = [defs.resolve_assets_def(dg.AssetKey(["pagila", t])) for t in keys.TABLES]
    job = defs.resolve_job_def(sensors.pagila_changes_job.name)
    with dg.DagsterInstance.ephemeral() as instance:
        assert dg.materialize(assets, instance=instance, tags=all_months_tags()).success
        assert isinstance(_tick(instance), dg.SkipReason)  # nothing changed yet
        for day_seed in range(3):
            commits = len(lakehouse.catalog().load_table("pagila.payment").metadata.metadata_log)
            with postgres.connect("pagila") as conn:
                day = changes.apply_day(conn, seed=day_seed)
            request = _tick(instance)
            assert isinstance(request, dg.RunRequest), day.summary()
            assert {k.path[-1] for k in request.asset_selection} == {
                "rental",
                "payment",
                "customer",
            }
            first = request.tags[sensors.ASSET_PARTITION_RANGE_START_TAG]
            last = request.tags[sensors.ASSET_PARTITION_RANGE_END_TAG]
            assert first <= f"{day.day:%Y-%m}-01" == last  # the day's month, and any refunded
            result = job.execute_in_process(instance=instance, tags=request.tags,
                                            asset_selection=request.asset_selection)  # fmt: skip
            assert result.success
            payment = lakehouse.catalog().load_table("pagila.payment")
            assert len(payment.metadata.metadata_log) == commits + 1  # the months in one commit
            assert isinstance(_tick(instance), dg.SkipReason), f"after {day.summary()}"
    source = Source("pagila")
    for table in keys.TABLES:  # row by row, every table
        assert differences(source, table, f"pagila.{table}").equal, table
    source.close()
