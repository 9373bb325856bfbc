"""Lesson 01's technique is in its cells: a learner who deletes `stream_results=True` from the
chunk-writing recipe (so PostgreSQL sends the whole result at once, to a client-side cursor)
sees that recipe's peak memory grow with the table, as the OS measures it. The lesson runs
headless from an edited copy, as a learner's edit would leave it."""

import re

import pytest

from tests.helpers import run_lesson_without

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

STREAM = ".execution_options(stream_results=True)"


def test_without_a_server_side_cursor_the_chunks_memory_grows(fresh_data_dir, tmp_path) -> None:
    result = run_lesson_without("01_chunked_loading", STREAM, tmp_path)
    peaks = {
        (method, int(rows)): int(mb)
        for method, rows, mb in re.findall(
            r"^growth: (\S+) at (\d+) rows: (\d+) MB$", result.stdout, re.M
        )
    }
    assert len(peaks) == 4, result.stdout[-2000:]
    chunks = peaks["pandas-chunks", 400_000] - peaks["pandas-chunks", 100_000]
    # the whole result held by the client: about 160 bytes a row for the 300,000 rows added
    # (47 MB measured on 2026-12-07); streamed, the same recipe's peak stays within 25 MB
    assert chunks > 25, peaks
