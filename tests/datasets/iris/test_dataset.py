from pathlib import Path

import pytest

from playground.datasets.iris import dataset

HEADER = ",".join(dataset.COLUMNS)


def test_vendored_csv_reads_and_cleans() -> None:
    raw = dataset.read_csv()
    assert raw.num_rows == 150
    assert raw.schema == dataset.SCHEMA
    assert dataset.species_counts(raw) == {
        "Iris-setosa": 50,
        "Iris-versicolor": 50,
        "Iris-virginica": 50,
    }
    # Fisher's published column sums (the UCI copy's two known typos are corrected)
    sums = {m: round(sum(raw.column(m).to_pylist()), 1) for m in dataset.MEASUREMENTS}
    assert sums == {
        "sepal_length_cm": 876.5,
        "sepal_width_cm": 458.6,
        "petal_length_cm": 563.7,
        "petal_width_cm": 179.9,
    }
    cleaned = dataset.clean(raw)
    assert cleaned.num_rows == 149
    assert dataset.species_counts(cleaned)["Iris-virginica"] == 49
    assert cleaned.slice(0, 1).to_pylist()[0] == {
        "sepal_length_cm": 5.1,
        "sepal_width_cm": 3.5,
        "petal_length_cm": 1.4,
        "petal_width_cm": 0.2,
        "species": "Iris-setosa",
    }


def test_clean_drops_missing_values_and_duplicates(tmp_path: Path) -> None:
    csv = tmp_path / "iris.csv"
    csv.write_text(
        f"{HEADER}\n1,2,3,4,a\n1,2,3,4,a\n1,,3,4,b\n5,6,7,8,\n9,9,9,9,c\n", encoding="utf-8"
    )
    raw = dataset.read_csv(csv)
    assert raw.num_rows == 5
    assert raw.column("sepal_width_cm").null_count == 1
    cleaned = dataset.clean(raw)
    assert cleaned.column("species").to_pylist() == ["a", "c"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (f"{HEADER}\n1,2,3,4,a\n1,2,3,a\n", r"line 3: expected 5 columns, found 4"),
        (f"{HEADER}\n1,2,3,4,a,extra\n", r"line 2: expected 5 columns, found 6"),
        (f"{HEADER}\n1,2,3,4,a\n1,two,3,4,a\n", r"line 3: sepal_width_cm is 'two', not a number"),
        ("a,b,c,d,e\n1,2,3,4,a\n", r"line 1: expected the header"),
        (f"{HEADER}\n", r"has a header but no rows"),
    ],
)
def test_bad_csv_names_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(content, encoding="utf-8")
    with pytest.raises(dataset.IrisDataError, match=message) as error:
        dataset.read_csv(csv)
    assert str(csv) in str(error.value)


def test_missing_csv(tmp_path: Path) -> None:
    with pytest.raises(dataset.IrisDataError, match="Iris CSV not found: .*nope.csv"):
        dataset.read_csv(tmp_path / "nope.csv")
