"""Every promoted lesson runs as a dagstermill asset for real, through the Dagster CLI.

`dagster.materialize()` cannot run a dagstermill asset (it is not reconstructable); the CLI can.
"""

import os
import re

import dagster as dg
import pytest

from playground import lakehouse
from tests.helpers import BIN, run

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


def test_promoted_lessons_materialize_through_dagstermill(fresh_data_dir) -> None:
    env = {"PLAYGROUND_DATA_DIR": str(fresh_data_dir), "DAGSTER_HOME": os.environ["DAGSTER_HOME"]}
    result = run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "playground.orchestration.definitions",
         "--select", "iris/iris_dataset,iris/iris_cleaned,lessons/tour,"
                     "lessons/duckdb_lakehouse,lessons/io_managers"],
        env=env,
        timeout=600,
    )  # fmt: skip
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    # The run's own event log, not the console: a step process's lines can miss the console.
    (run_id,) = re.findall(r"__ASSET_JOB - ([0-9a-f-]{36}) - \d+ - RUN_SUCCESS", log)
    with dg.DagsterInstance.from_config(os.environ["DAGSTER_HOME"]) as instance:
        succeeded = {event.step_key for event in instance.all_logs(
            run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)}  # fmt: skip
    steps = {"iris__iris_dataset", "iris__iris_cleaned", "lessons__tour",
             "lessons__duckdb_lakehouse", "lessons__io_managers"}  # fmt: skip
    assert steps <= succeeded, (succeeded, log[-4000:])  # fmt: skip
    summary = lakehouse.catalog().load_table("lessons.tour_summary").scan().to_arrow()
    assert summary.num_rows == 3
    assert sorted(summary.column("flowers").to_pylist()) == [49, 50, 50]
    assert summary.column_names == [
        "species", "flowers", "avg_petal_length_cm", "avg_petal_width_cm",
    ]  # fmt: skip
    # The two pagila lessons wrote their tables from the lakehouse the notebooks prepared.
    revenue = lakehouse.read("lessons.revenue_by_month")
    payments = lakehouse.catalog().load_table("pagila.payment").scan().to_arrow().num_rows
    assert sum(revenue.column("payments").to_pylist()) == payments > 0
    timings = lakehouse.read("lessons.io_manager_timings")
    assert sorted(set(timings.column("io_manager").to_pylist())) == ["duckdb", "iceberg", "parquet"]
