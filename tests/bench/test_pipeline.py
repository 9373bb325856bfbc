"""`playground bench pipeline` as a learner runs it: a scratch data directory seeded at a small
scale, the whole pipeline in one child process, every stage's seconds, and the sensor's tick
(row digests of all 15 tables on both sides), which after the build finds nothing to load."""

import re
import sys
from pathlib import Path

import pytest

from tests.helpers import run

pytestmark = pytest.mark.slow

STAGES = (
    "extract: 15 tables → Iceberg",
    "dbt build (23 models, 66 tests)",
    "full build (the run)",
    "one payment month re-materialized",
    "sensor tick (row digests, both sides)",
)


def test_the_bench_times_every_stage_and_the_sensor_finds_nothing_left(fresh_data_dir) -> None:
    done = run([sys.executable, "-m", "playground.cli", "bench", "pipeline", "--scale", "0.05"],
               timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    seconds = {
        name: float(value)
        for name, value in re.findall(r"^  (.+?)\s+(\d+\.\d\d)$", done.stdout, re.M)
    }
    assert all(seconds.get(stage, 0) > 0 for stage in STAGES), done.stdout
    assert seconds["full build (the run)"] < seconds["whole process"], done.stdout
    assert "the sensor's tick finds the lakehouse equal to PostgreSQL" in done.stdout
    seeding = r"^seeding pagila at SF 0\.05 into (.+) \(not timed\)"
    (scratch,) = re.findall(seeding, done.stdout, re.M)
    assert not Path(scratch).exists()  # the scratch data directory and its server are gone
