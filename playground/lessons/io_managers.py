"""Lesson 04's exercises: an IO manager of the learner's, run through Dagster's own contexts,
and a question answered by the Iceberg table's history."""

from __future__ import annotations

import tempfile
from pathlib import Path

import dagster as dg
import pandas as pd

from playground import lakehouse
from playground.lessons.exercises import Exercise, run_answer, whole

KEY = dg.AssetKey(["lessons_io_csv", "payments"])
MONTH = "2022-05-01"
ICEBERG_TABLE = "lessons_io_iceberg.payments"


class CsvIOManager(dg.ConfigurableIOManager):
    """The worked answer: one CSV per asset and partition, read back with its dates."""

    folder: str

    def _path(self, context) -> Path:
        path = Path(self.folder, *context.asset_key.path)
        if context.has_partition_key:
            path = path / context.partition_key
        return path.with_suffix(".csv")

    def handle_output(self, context, obj: pd.DataFrame) -> None:
        self._path(context).parent.mkdir(parents=True, exist_ok=True)
        obj.to_csv(self._path(context), index=False)

    def load_input(self, context) -> pd.DataFrame:
        return pd.read_csv(self._path(context), parse_dates=["payment_date"])


class UntypedCsvIOManager(CsvIOManager):
    """A plausible wrong answer: it forgets that CSV keeps no types."""

    def load_input(self, context) -> pd.DataFrame:
        return pd.read_csv(self._path(context))


def _payments() -> pd.DataFrame:
    return pd.DataFrame({
        "payment_id": [1, 2, 3],
        "amount": [4.99, 0.99, 2.99],
        "payment_date": pd.to_datetime(
            ["2022-05-01T10:00:00Z", "2022-05-15T23:30:00Z", "2022-05-31T23:59:59Z"]
        ),
    })  # fmt: skip


def check_csv_io_manager(manager_class) -> str | None:
    """Store a May partition through Dagster's contexts and load it back: the same frame, the
    same types, one CSV file where the exercise says."""
    sent = _payments()
    with tempfile.TemporaryDirectory() as folder:
        manager = run_answer(manager_class, folder=folder)
        out = dg.build_output_context(asset_key=KEY, partition_key=MONTH)
        run_answer(manager.handle_output, out, sent)
        files = sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*.csv"))
        if files != [f"lessons_io_csv/payments/{MONTH}.csv"]:
            return f"expected one file lessons_io_csv/payments/{MONTH}.csv, found {files}"
        on_disk = pd.read_csv(Path(folder, files[0]))
        if len(on_disk) != len(sent) or list(on_disk.columns) != list(sent.columns):
            return f"the CSV holds {len(on_disk)} rows of {list(on_disk.columns)}"
        got = run_answer(
            manager.load_input, dg.build_input_context(asset_key=KEY, partition_key=MONTH)
        )
    if not isinstance(got, pd.DataFrame) or len(got) != len(sent):
        size = f" of {len(got)} rows" if isinstance(got, pd.DataFrame) else ""
        return f"load_input returned {type(got).__name__}{size}, not the 3 rows stored"
    if list(got.columns) != list(sent.columns):
        return f"load_input returned the columns {list(got.columns)}, not {list(sent.columns)}"
    if not pd.api.types.is_datetime64_any_dtype(got["payment_date"]):
        return (
            f"payment_date came back as {got['payment_date'].dtype}: CSV keeps no types, so "
            "the loader must parse the dates"
        )
    if got["payment_date"].tolist() != sent["payment_date"].tolist():
        return "payment_date came back with other instants (time zone lost?)"
    return None


def _replaced(settings=None) -> int:
    deletes = [
        s for s in lakehouse.snapshots(ICEBERG_TABLE, settings) if s["operation"] == "delete"
    ]
    return deletes[-1]["deleted_records"] if deletes else 0


def _every_row(settings=None) -> int:
    return lakehouse.snapshots(ICEBERG_TABLE, settings)[-1]["total_records"]


def check_replaced_rows(answer: float, settings=None) -> str | None:
    """How many rows re-materializing May deleted: the Iceberg table's own history."""
    replaced = _replaced(settings)
    if not replaced:
        return f"{ICEBERG_TABLE} has no delete in its history yet: run the comparison above"
    if not whole(answer):
        return f"{answer!r} is not a number of rows: a whole number, such as {replaced + 1}"
    if int(answer) == replaced:
        return None
    if int(answer) == _every_row(settings):
        return "that is every row of the table: only May was replaced, April stayed as it was"
    return f"you said {int(answer)}; read `deleted_records` of the delete in the history above"


CSV = Exercise(
    "04.1", "A CSV IO manager", check_csv_io_manager, CsvIOManager, UntypedCsvIOManager,
    "See `playground/lessons/io_managers.py` for the worked class. CSV keeps no types: the "
    "loader must say which columns are dates, which the Parquet and table IO managers never "
    "have to do.",
)  # fmt: skip
REPLACED = Exercise(
    "04.2", "Rows a May re-materialization replaced", check_replaced_rows, None, None,
    "The delete snapshot's `deleted_records`: May's rows, deleted and written again in the same "
    "commit as the append that follows it.", solve=_replaced,
)  # fmt: skip
EXERCISES = (CSV, REPLACED)
