"""Lesson 05's technique is in its cells: a learner who deletes the apply step from the change
data capture cell sees the row-by-row comparison with PostgreSQL turn red for every table. The
lesson runs headless from an edited copy, as a learner's edit would leave it."""

import re

import pytest

from tests.helpers import run_lesson_without

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

APPLY = "            cdc.apply(source.cat, _batch, table, identifier, spec.key)\n"


def test_without_the_cdc_apply_step_the_comparison_turns_red(fresh_data_dir, tmp_path) -> None:
    result = run_lesson_without("05_incremental_loading", APPLY, tmp_path)
    verdicts = dict(
        re.findall(
            r"^loaded: change data capture \| (\w+) \| read \d+ \| (.+)$", result.stdout, re.M
        )
    )
    assert sorted(verdicts) == ["customer", "payment", "rental"], result.stdout[-3000:]
    # the tables stayed at yesterday's load: the day's new rows are missing, its old images kept
    for verdict in verdicts.values():
        missing, gone = map(int, re.fullmatch(
            r"(\d+) rows missing, (\d+) rows PostgreSQL no longer has", verdict
        ).groups())  # fmt: skip
        assert missing > 0 and gone > 0, verdicts
    # the day refunded 5 payments (the lesson's seeded day): yesterday's copy still holds them
    assert verdicts["payment"].endswith(", 5 rows PostgreSQL no longer has"), verdicts
    # the other ways are untouched by the edit
    assert "loaded: full reload | payment | read" in result.stdout
    assert re.search(r"^loaded: changed months \| payment \| read \d+ \| equal, row by row$",
                     result.stdout, re.M)  # fmt: skip
