"""`playground bench incremental` as a learner runs it: a scratch data directory seeded at a small
scale, one day of changes, and lesson 05's three ways each in its own process, every one checked
against PostgreSQL row by row afterwards."""

import re
import sys
from pathlib import Path

import pytest

from tests.helpers import run

pytestmark = pytest.mark.slow

WAYS = ("full reload", "changed months", "change data capture")
ROW = re.compile(
    r"^  (full reload|changed months|change data capture)\s+(\d+\.\d\d)\s+(\d+\.\d\d)"
    r"\s+([\d,]+)\s+([\d,]+)\s+([\d,]+) MB$",
    re.M,
)


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_each_way_is_timed_and_leaves_the_lakehouse_equal_to_postgres(fresh_data_dir) -> None:
    done = run([sys.executable, "-m", "playground.cli", "bench", "incremental", "--scale", "0.05"],
               timeout=600)  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out[-2000:] + done.stderr[-2000:]
    rows = {way: (float(s), float(p), _number(r), _number(w), _number(m))
            for way, s, p, r, w, m in ROW.findall(out)}  # fmt: skip
    assert set(rows) == set(WAYS), out
    for way, (seconds, process, read, _written, peak) in rows.items():
        assert 0 < seconds < process, (way, out)  # the way is timed inside its own process
        assert read > 0 and peak > 50, (way, out)
    # the day as `playground changes` reported it: what the slot must hand over, change by change
    (day,) = re.findall(r"^  \d{4}-\d\d-\d\d: (.+)$", out, re.M)
    changed = sum(int(n) for n in re.findall(r"(\d+) \w+ (?:inserted|updated|deleted)", day))
    assert f"change data capture: {changed:,} changes from the slot" in out, out
    # the check can fail: the first load, after the day, differs from PostgreSQL
    stale = re.search(r"after the day: (.+)$", out, re.M).group(1)
    assert "rows missing" in stale and "equal" not in stale, out
    totals = set()
    for way in WAYS:
        said = rf"^  {way}: .+; the lakehouse against PostgreSQL: (.+)$"
        verdict = re.search(said, out, re.M).group(1)
        assert verdict.startswith("equal, row by row ("), (way, out)
        totals.add(_number(re.search(r"\(([\d,]+) rows\)", verdict).group(1)))
    (total,) = totals  # every way ends with PostgreSQL's rows, counted by the independent read
    assert rows["full reload"][2] == total  # the full reload reads every row once
    assert rows["change data capture"][2] < rows["changed months"][2] < total, out
    for way in WAYS[1:]:
        assert re.search(rf"^  {way} over the full reload: \d+\.\dx \(the way\)", out, re.M), out
    seeding = r"^seeding pagila at SF 0\.05 into (.+) \(not timed\)"
    (scratch,) = re.findall(seeding, out, re.M)
    assert not Path(scratch).exists()  # the scratch data directory and its server are gone
