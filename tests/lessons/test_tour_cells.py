"""Lesson 00's DuckDB view is compared, in its own cell, with PyIceberg's reading of the same
table. A learner who filters the view, or swaps two of its columns (the same rows, other
values), sees that comparison turn red, naming each species that differs; as shipped it is
green. The lesson runs headless from an edited copy, as a learner's edit would leave it; the
expected figures come from PyIceberg's read of the table, with pyarrow's own arithmetic."""

import re
import sys
import tempfile
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground import lakehouse
from playground.orchestration.promote import lessons_dir
from tests.helpers import run, run_lesson_without
from tests.lessons.test_ducklake import own_data_dir  # noqa: F401 - the fixture

SPECIES = st.one_of(st.none(), st.sampled_from(["Iris-setosa", "🌸 virginica", "سوسن", ""]))
LENGTHS = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=32))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(SPECIES, LENGTHS), min_size=1, max_size=30))
def test_the_view_and_pyicebergs_read_of_any_rows_are_equal(rows) -> None:
    """Odd rows (NULL species, emoji and right-to-left names, NaN, ±infinity, NULL lengths)
    written to a real Iceberg table (a SQL catalog in a folder with a space): DuckDB's view
    over its metadata file and PyIceberg's own read agree, and the flowers add up."""
    from pyiceberg.catalog.sql import SqlCatalog

    from playground.engines import duck
    from playground.lessons import tour

    schema = pa.schema([("species", pa.string()), ("petal_length_cm", pa.float64())])
    species, lengths = [s for s, _ in rows], [v for _, v in rows]
    data = pa.table({"species": species, "petal_length_cm": lengths}, schema=schema)
    with tempfile.TemporaryDirectory(prefix="My Data #1 é ") as folder:
        # the warehouse a plain path, as settings.warehouse gives it
        catalog = SqlCatalog("t", uri=f"sqlite:///{quote(folder)}/c.db", warehouse=folder)
        catalog.create_namespace("iris")
        table = catalog.create_table("iris.odd", schema=data.schema)
        table.append(data)
        con = duck.connect(extensions=("avro", "iceberg"))
        location = duck.literal(table.metadata_location.removeprefix("file://"))
        con.execute(f"create view iris as select * from iceberg_scan({location})")
        said = tour.view_against_pyiceberg(con, table)
        con.close()
    assert said == (
        f"equal: {len(rows)} rows, the same flowers and mean petal length in each species"
    )


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


@pytest.mark.notebook
@pytest.mark.slow
def test_as_shipped_the_view_equals_pyicebergs_read(own_data_dir, tmp_path) -> None:  # noqa: F811
    result = run([sys.executable, str(lessons_dir() / "00_tour.py")], env={"TZ": "Asia/Kathmandu"})
    assert result.returncode == 0, result.stderr[-3000:]
    rows = lakehouse.read("iris.iris_cleaned").num_rows
    assert rows > 100
    wanted = f"equal: {rows} rows, the same flowers and mean petal length in each species"
    assert _said(result.stdout) == wanted


@pytest.mark.notebook
@pytest.mark.slow
def test_a_view_without_setosa_is_red(own_data_dir, tmp_path) -> None:  # noqa: F811
    edited = VIEW.replace("{_from}", "{_from} WHERE species <> 'Iris-setosa'")
    result = run_lesson_without("00_tour", VIEW, tmp_path, instead=edited)
    count, mean = _species("petal_length_cm")["Iris-setosa"]
    wanted = f"differ: Iris-setosa: the view none, PyIceberg {count} flowers, {mean:.3f} cm"
    assert _said(result.stdout) == wanted


@pytest.mark.notebook
@pytest.mark.slow
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
