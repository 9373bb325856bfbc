"""A partitioned Parquet IO manager on Dagster's `UPathIOManager`: a local folder or S3.

The modern form of the original's `PartitionedParquetIOManager`: an asset's output is the file
`<base>/<asset key path>.parquet`, or `<base>/<asset key path>/<partition key>.parquet` for a
partitioned asset (re-materializing a partition rewrites only its file). Loading several partitions
gives a dict keyed by partition. The base is `<data dir>/parquet` in embedded mode and
`s3://<bucket>/parquet` on the stack (through s3fs, with the stack's endpoint and keys).
"""

import dagster as dg
import pyarrow.parquet as pq
from pydantic import Field
from upath import UPath

from playground.config.settings import Settings, get_settings
from playground.orchestration.io._arrow import as_requested, to_arrow


def base_path(given: str, settings: Settings) -> UPath:
    """Where the files go: `given` if set, else the mode's default; S3 with the stack's keys."""
    if given.startswith("s3://") or (not given and settings.is_stack):
        return UPath(
            given or f"s3://{settings.s3_bucket}/parquet",
            key=settings.s3_access_key,
            secret=settings.s3_secret_key,
            endpoint_url=settings.s3_endpoint,
            client_kwargs={"region_name": settings.s3_region},
        )
    return UPath(given or settings.data_dir / "parquet")


class ParquetUPathIOManager(dg.UPathIOManager):
    """Stores pyarrow Tables or pandas DataFrames as one Parquet file per asset (or partition)."""

    extension = ".parquet"

    def dump_to_path(self, context: dg.OutputContext, obj, path: UPath) -> None:
        obj = to_arrow(obj, context, "Parquet")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as file:
            pq.write_table(obj, file)

    def get_metadata(self, context: dg.OutputContext, obj) -> dict:
        return {"dagster/row_count": len(obj)}  # the path is added by UPathIOManager

    def load_from_path(self, context: dg.InputContext, path: UPath):
        with path.open("rb") as file:
            return as_requested(pq.read_table(file), context)


class PartitionedParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Parquet files per asset and partition, in a local folder or an S3 bucket."""

    base_path: str = Field(
        default="",
        description="A folder or s3:// URL; empty = <data dir>/parquet (stack: the bucket).",
    )

    def create_io_manager(self, context) -> ParquetUPathIOManager:
        return ParquetUPathIOManager(base_path=base_path(self.base_path, get_settings()))
