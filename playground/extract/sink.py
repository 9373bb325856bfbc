"""Where extracted rows land before the commit: Parquet files, one folder per month partition.

A Parquet file added to a partitioned Iceberg table must hold exactly one partition value, since
PyIceberg infers it from the file's column statistics. Rows whose partition column is NULL go to
files of their own (Iceberg's null partition: a column with no min/max gives a null value).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from playground.config.months import NULL_MONTH

_ROWS_PER_FILE = 4_000_000


def month_key(batch: pa.RecordBatch | pa.Table, column: str) -> pa.Array:
    """`YYYY-MM` of a date or timestamp column (UTC wall time, as Iceberg's month() uses)."""
    values = batch.column(column)
    if pa.types.is_timestamp(values.type) and values.type.tz:
        values = pc.cast(values, pa.timestamp("us"))
    return pc.strftime(values, "%Y-%m")


class ParquetSink:
    """Writes record batches to Parquet files, one open file per partition, rolling by rows."""

    def __init__(self, folder: str, schema: pa.Schema, fs, partition_column: str | None):
        self.folder, self.schema, self.fs = folder.rstrip("/"), schema, fs
        self.partition_column = partition_column
        self.writers: dict[str, tuple] = {}  # partition folder -> (ParquetWriter, rows)
        self.files: list[str] = []
        self.months: set[str] = set()  # the partitions written (`YYYY-MM` or NULL_MONTH)
        self.rows_read = 0
        self.rows_written = 0

    def _writer(self, key: str):
        entry = self.writers.get(key)
        if entry is None or entry[1] >= _ROWS_PER_FILE:
            if entry is not None:
                entry[0].close()
            prefix = f"{self.folder}/{key}" if key else self.folder
            path = f"{prefix}/part-{len(self.files):05d}.parquet"
            self.fs.create_dir(prefix, recursive=True)
            entry = (pq.ParquetWriter(path, self.schema, filesystem=self.fs), 0)
            self.files.append(path)
        self.writers[key] = entry
        return entry[0]

    def _groups(self, batch) -> dict[str, pa.RecordBatch | pa.Table]:
        if self.partition_column is None:
            return {"": batch}
        keys = month_key(batch, self.partition_column)
        groups = {}
        for key in pc.unique(keys).to_pylist():
            if key is None:
                groups[f"month={NULL_MONTH}"] = batch.filter(pc.is_null(keys))
            else:
                groups[f"month={key}"] = batch.filter(pc.equal(keys, key))
            self.months.add(key or NULL_MONTH)
        return groups

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        batch = batch.cast(self.schema) if batch.schema != self.schema else batch
        self.rows_read += batch.num_rows
        for key, part in self._groups(batch).items():
            writer = self._writer(key)
            writer.write(part, row_group_size=256_000)
            self.writers[key] = (writer, self.writers[key][1] + part.num_rows)
            self.rows_written += part.num_rows

    def close(self) -> None:
        for writer, _ in self.writers.values():
            writer.close()
        self.writers.clear()
