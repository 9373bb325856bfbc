"""Lesson 06's technique is in its cells: a learner who deletes the rollback call from the
recovery cell sees the month-by-month comparison with PostgreSQL turn red. The lesson runs
headless from an edited copy, as a learner's edit would leave it; what the table then holds is
read with PyIceberg directly."""

import pytest

from playground import lakehouse
from tests.helpers import run_lesson_without

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

ROLLBACK = '    _payment.manage_snapshots().rollback_to_snapshot(bad["good snapshot"]).commit()\n'


def test_without_the_rollback_call_the_comparison_turns_red(fresh_data_dir, tmp_path) -> None:
    result = run_lesson_without("06_when_things_break", ROLLBACK, tmp_path)
    assert "rolled back: to the first load's snapshot: False, equals PostgreSQL: False" in (
        result.stdout
    ), result.stdout[-2000:]
    # the table was left at the bad load: its current snapshot is the newest of its history
    table = lakehouse.catalog().load_table("lesson06.payment")
    history = table.snapshots()
    assert len(history) >= 2
    assert table.current_snapshot().snapshot_id == history[-1].snapshot_id
