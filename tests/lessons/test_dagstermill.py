"""Promoted lessons run as dagstermill assets for real, through the Dagster CLI.

`dagster.materialize()` cannot run a dagstermill asset (it is not reconstructable); the CLI can.
"""

import os

import pytest

from playground import lakehouse
from tests.helpers import BIN, run

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


def test_tour_asset_materializes_through_dagstermill(fresh_data_dir) -> None:
    env = {"PLAYGROUND_DATA_DIR": str(fresh_data_dir), "DAGSTER_HOME": os.environ["DAGSTER_HOME"]}
    result = run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "playground.definitions",
         "--select", "iris/iris_dataset,iris/iris_cleaned,lessons/tour"],
        env=env,
        timeout=600,
    )  # fmt: skip
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert 'Finished execution of step "lessons__tour"' in log
    assert "RUN_SUCCESS" in log
    summary = lakehouse.catalog().load_table("lessons.tour_summary").scan().to_arrow()
    assert summary.num_rows == 3
    assert sorted(summary.column("flowers").to_pylist()) == [49, 50, 50]
    assert summary.column_names == [
        "species", "flowers", "avg_petal_length_cm", "avg_petal_width_cm",
    ]  # fmt: skip
