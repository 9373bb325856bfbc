"""Lesson 00's exercises, each checked against PyIceberg's own reading of the iris tables."""

from __future__ import annotations

import math
from decimal import Decimal

import pyarrow as pa

from playground import lakehouse
from playground.datasets.iris import dataset
from playground.lessons.exercises import Exercise, run_answer

SEPALS = """SELECT species,
       round(avg(sepal_length_cm), 2) AS avg_sepal_length_cm,
       round(avg(sepal_width_cm), 2) AS avg_sepal_width_cm
FROM iris
GROUP BY species
ORDER BY species"""
# A wrong answer of the right shape: the same columns and rows, length and width swapped.
SWAPPED = """SELECT species,
       round(avg(sepal_width_cm), 2) AS avg_sepal_length_cm,
       round(avg(sepal_length_cm), 2) AS avg_sepal_width_cm
FROM iris
GROUP BY species
ORDER BY species"""


def _oracle_means() -> dict[str, dict[str, float]]:
    table = lakehouse.read("iris.iris_cleaned")  # PyIceberg, not DuckDB: the same rows, read apart
    means = table.group_by("species").aggregate(
        [("sepal_length_cm", "mean"), ("sepal_width_cm", "mean")]
    )
    return {
        row["species"]: {"length": row["sepal_length_cm_mean"], "width": row["sepal_width_cm_mean"]}
        for row in means.to_pylist()
    }


def _per_species(table: pa.Table) -> dict[str, tuple[int, float | None]]:
    """Flowers and mean petal length of each species in an Arrow table."""
    grouped = table.group_by("species").aggregate(
        [([], "count_all"), ("petal_length_cm", "mean")]  # every row, a NULL species too
    )
    return {
        row["species"]: (row["count_all"], row["petal_length_cm_mean"])
        for row in grouped.to_pylist()
    }


def _close(ours: float | None, theirs: float | None) -> bool:
    """Two means alike: both NULL (no length measured), both NaN, or within 1e-9 of each other."""
    if ours is None or theirs is None:
        return ours is theirs
    if math.isnan(ours) or math.isnan(theirs):
        return math.isnan(ours) and math.isnan(theirs)
    return math.isclose(ours, theirs, rel_tol=1e-9)


def _same(ours: tuple[int, float | None] | None, theirs: tuple[int, float | None] | None) -> bool:
    if ours is None or theirs is None:
        return ours is theirs
    return ours[0] == theirs[0] and _close(ours[1], theirs[1])


def _shown(found: tuple[int, float | None] | None) -> str:
    if found is None:
        return "none"
    mean = "no length" if found[1] is None else f"{found[1]:.3f} cm"
    return f"{found[0]} flowers, {mean}"


def view_against_pyiceberg(con, table, view: str = "iris") -> str:
    """DuckDB's `view` against PyIceberg's own reading of `table` (a PyIceberg `Table`), species
    by species: flowers and mean petal length. "equal: ..." or "differ: ..." naming each
    species that differs."""
    if not view.isidentifier():
        raise ValueError(f"{view!r} is not a plain view name")
    query = f'select species, petal_length_cm from "{view}"'  # noqa: S608 - a checked name
    ours = _per_species(con.sql(query).to_arrow_table())
    theirs = _per_species(table.scan(selected_fields=("species", "petal_length_cm")).to_arrow())
    differing = [
        f"{species}: the view {_shown(ours.get(species))}, PyIceberg {_shown(theirs.get(species))}"
        for species in sorted(set(ours) | set(theirs), key=lambda name: (name is None, str(name)))
        if not _same(ours.get(species), theirs.get(species))
    ]
    if differing:
        return "differ: " + "; ".join(differing)
    rows = sum(count for count, _mean in theirs.values())
    return f"equal: {rows} rows, the same flowers and mean petal length in each species"


def _near(value, wanted: float) -> bool:
    """A finite number within 0.006 of `wanted` (NaN, infinity, text and NULL never are)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return False
    return math.isfinite(value) and abs(float(value) - wanted) <= 0.006


def check_sepals(query: str, con) -> str | None:
    """The learner's query must give each species' mean sepal length and width (to 0.01)."""
    got = run_answer(lambda: con.sql(query).arrow())
    if isinstance(got, pa.RecordBatchReader):
        got = got.read_all()
    oracle = _oracle_means()
    if "species" not in got.column_names:
        return "the result needs a `species` column, one row per species"
    found = {name for name in got.column_names if "sepal" in name}
    if not any("length" in n for n in found) or not any("width" in n for n in found):
        return (
            f"no sepal length and width columns among {got.column_names}: "
            "average sepal_length_cm and sepal_width_cm"
        )
    if got.num_rows != len(oracle):
        return f"{len(oracle)} species expected, your query returns {got.num_rows} rows"
    length = next(n for n in got.column_names if "sepal" in n and "length" in n)
    width = next(n for n in got.column_names if "sepal" in n and "width" in n)
    for row in got.to_pylist():
        wanted = oracle.get(row["species"])
        if wanted is None:
            return f"species {row['species']!r} is not in the table"
        for part, column in (("length", length), ("width", width)):
            if not _near(row[column], wanted[part]):
                return (
                    f"{row['species']}: your mean sepal {part} is {row[column]!r}, the table's "
                    f"{wanted[part]:.3f} (is it the average of every flower of that species?)"
                )
    return None


def check_dropped(answer: dict, **_context) -> str | None:
    """How many flowers of each species cleaning dropped: the raw CSV against the lakehouse."""
    raw = dataset.species_counts(dataset.read_csv())
    kept = dataset.species_counts(lakehouse.read("iris.iris_cleaned"))
    dropped = {s: raw[s] - kept.get(s, 0) for s in raw if raw[s] != kept.get(s, 0)}
    if not isinstance(answer, dict):
        return "answer with a dict such as {'Iris-setosa': 2}: species → flowers dropped"
    if answer != dropped:
        return (
            f"you said {answer}; count each species in the raw CSV (dataset.read_csv()) and in "
            "iris.iris_cleaned, and keep the species whose counts differ"
        )
    return None


SEPAL_MEANS = Exercise(
    "00.1", "Compare sepals instead of petals", check_sepals, SEPALS, SWAPPED,
    "The petal query with `sepal` in place of `petal`. Sepals overlap far more than petals: "
    "no single sepal measure separates the three species.",
)  # fmt: skip
DROPPED = Exercise(
    "00.2", "Which flowers did cleaning drop?", check_dropped, {"Iris-virginica": 1},
    {"Iris-versicolor": 1},
    "`dataset.species_counts(dataset.read_csv())` against the same counts of "
    "`lakehouse.read('iris.iris_cleaned')`: one virginica, an exact duplicate.",
)  # fmt: skip
EXERCISES = (SEPAL_MEANS, DROPPED)
