"""Lesson 06's first answer box reads a snapshot id: anything that is not one is said in one
line (❌ with what to type), never "the check itself failed" and never a traceback, whatever
the learner types (generated text: letters, signs, spaces, superscript and other digits that
int() does not read)."""

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground import lakehouse
from playground.lessons import exercises
from playground.lessons.when_things_break import GOOD_SNAPSHOT, PAYMENT

# What the box may hold that is no snapshot id: text with at least one character int() rejects
UNREADABLE = st.text(min_size=1, max_size=30).filter(
    lambda text: text.strip() and not text.strip().isdecimal()
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(typed=st.one_of(UNREADABLE, st.sampled_from(["²", "1e3", "-5", "0x1f", "12 34", "٣.٥"])))
def test_a_box_that_holds_no_snapshot_id_says_so_in_one_line(fresh_data_dir, typed) -> None:
    if not lakehouse.catalog().table_exists(PAYMENT):  # a table with a snapshot to point at
        lakehouse.write_table(PAYMENT, pa.table({"amount": [1]}))
    verdict = GOOD_SNAPSHOT.verdict(typed)
    assert verdict.status == exercises.WRONG, verdict.line
    assert "is not one" in verdict.message and "whole number" in verdict.message
    assert "\n" not in verdict.line.replace(typed, "") and "Traceback" not in verdict.line
