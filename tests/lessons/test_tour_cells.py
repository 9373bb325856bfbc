"""Lesson 00's DuckDB view is compared, in its own cell, with PyIceberg's reading of the same
table. A learner who filters the view, or swaps two of its columns (the same rows, other
values), sees that comparison turn red, naming each species that differs; as shipped it is
green. The lesson runs headless from an edited copy, as a learner's edit would leave it; the
expected figures come from PyIceberg's read of the table, with pyarrow's own arithmetic."""

import re
import sys

import pyarrow.compute as pc
import pytest

from playground import lakehouse
from playground.orchestration.promote import lessons_dir
from tests.helpers import run, run_lesson_without
from tests.lessons.test_ducklake import own_data_dir  # noqa: F401 - the fixture

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

VIEW = 'con.execute(f"CREATE OR REPLACE VIEW iris AS SELECT * FROM {_from}")  # noqa: S608'
SAID = re.compile(r"^the iris view against PyIceberg: (.+)$", re.M)


def _said(stdout: str) -> str:
    (said,) = SAID.findall(stdout)
    return said


def _species(column: str) -> dict[str, tuple[int, float]]:
    """Flowers and mean `column` of each species, as PyIceberg reads iris.iris_cleaned."""
    table = lakehouse.read("iris.iris_cleaned")
    found = {}
    for species in pc.unique(table["species"]).to_pylist():
        values = table.filter(pc.equal(table["species"], species))[column]
        found[species] = (len(values), pc.mean(values).as_py())
    assert len(found) == 3 and all(count > 0 for count, _ in found.values())
    return found


def test_as_shipped_the_view_equals_pyicebergs_read(own_data_dir, tmp_path) -> None:  # noqa: F811
    result = run([sys.executable, str(lessons_dir() / "00_tour.py")], env={"TZ": "Asia/Kathmandu"})
    assert result.returncode == 0, result.stderr[-3000:]
    rows = lakehouse.read("iris.iris_cleaned").num_rows
    assert rows > 100
    wanted = f"equal: {rows} rows, the same flowers and mean petal length in each species"
    assert _said(result.stdout) == wanted


def test_a_view_without_setosa_is_red(own_data_dir, tmp_path) -> None:  # noqa: F811
    edited = VIEW.replace("{_from}", "{_from} WHERE species <> 'Iris-setosa'")
    result = run_lesson_without("00_tour", VIEW, tmp_path, instead=edited)
    count, mean = _species("petal_length_cm")["Iris-setosa"]
    wanted = f"differ: Iris-setosa: the view none, PyIceberg {count} flowers, {mean:.3f} cm"
    assert _said(result.stdout) == wanted


def test_a_view_with_petal_width_for_length_is_red(own_data_dir, tmp_path) -> None:  # noqa: F811
    """The same rows and columns, petal width where length should be: only values differ."""
    swapped = "SELECT * REPLACE (petal_width_cm AS petal_length_cm) FROM {_from}"
    edited = VIEW.replace("SELECT * FROM {_from}", swapped)
    result = run_lesson_without("00_tour", VIEW, tmp_path, instead=edited)
    length, width = _species("petal_length_cm"), _species("petal_width_cm")
    parts = [
        f"{species}: the view {width[species][0]} flowers, {width[species][1]:.3f} cm, "
        f"PyIceberg {length[species][0]} flowers, {length[species][1]:.3f} cm"
        for species in sorted(length)
    ]
    assert _said(result.stdout) == "differ: " + "; ".join(parts)
