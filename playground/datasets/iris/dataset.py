"""The iris dataset: read and validate the vendored CSV, and clean it (no Dagster here)."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

MEASUREMENTS = ("sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm")
COLUMNS = (*MEASUREMENTS, "species")
SCHEMA = pa.schema([*(pa.field(m, pa.float64()) for m in MEASUREMENTS), ("species", pa.string())])


class IrisDataError(ValueError):
    """The iris CSV is missing or malformed; the message names the file, the line and the fix."""


def default_path() -> Path:
    """The 150-row iris CSV shipped inside the package."""
    return Path(__file__).resolve().parent / "iris.csv"


def read_csv(path: Path | str | None = None) -> pa.Table:
    """Read and validate the iris CSV: a header naming the five columns, then one row per flower.

    Empty cells become nulls (cleaning drops them); anything else that is not a number in a
    measurement column is an error. Nothing is returned unless the whole file is valid.
    """
    path = Path(path) if path is not None else default_path()
    if not path.is_file():
        raise IrisDataError(
            f"Iris CSV not found: {path}. Reinstall the package (`make install`) to restore "
            "playground/datasets/iris/iris.csv, or pass the path of a CSV with the columns "
            f"{', '.join(COLUMNS)}."
        )
    columns: dict[str, list] = {name: [] for name in COLUMNS}
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if header is None or [h.strip() for h in header] != list(COLUMNS):
            raise IrisDataError(
                f"{path}, line 1: expected the header {','.join(COLUMNS)}, found {header!r}."
            )
        for line, row in enumerate(rows, start=2):
            if not row:
                continue
            if len(row) != len(COLUMNS):
                raise IrisDataError(
                    f"{path}, line {line}: expected {len(COLUMNS)} columns, found {len(row)} "
                    f"({','.join(row)!r}). Fix or remove that line."
                )
            for name, cell in zip(MEASUREMENTS, row, strict=False):
                columns[name].append(_measurement(cell, path, line, name))
            columns["species"].append(row[-1].strip() or None)
    if not columns["species"]:
        raise IrisDataError(f"{path} has a header but no rows.")
    return pa.table(columns, schema=SCHEMA)


def _measurement(cell: str, path: Path, line: int, column: str) -> float | None:
    cell = cell.strip()
    if not cell:
        return None
    try:
        return float(cell)
    except ValueError:
        raise IrisDataError(
            f"{path}, line {line}: {column} is {cell!r}, not a number (centimetres). "
            "Fix the value or leave the cell empty to mark it missing."
        ) from None


def clean(table: pa.Table) -> pa.Table:
    """Drop rows with a missing value, then exact duplicate rows (keeping the first)."""
    complete = table.drop_null()
    seen: set[tuple] = set()
    keep = []
    for row in zip(*(complete.column(c).to_pylist() for c in complete.column_names), strict=True):
        keep.append(row not in seen)
        seen.add(row)
    return complete.filter(pa.array(keep, pa.bool_()))


def species_counts(table: pa.Table) -> dict[str, int]:
    counts = pc.value_counts(table.column("species")).to_pylist()
    return {c["values"]: c["counts"] for c in counts}
