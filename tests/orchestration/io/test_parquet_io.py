"""The partitioned Parquet IO manager on a local folder and on S3 (moto_server, a test double)."""

from dataclasses import replace

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from playground.config.settings import get_settings
from playground.orchestration.io import parquet

daily = dg.DailyPartitionsDefinition(start_date="2022-05-01", end_date="2022-05-04")


def _rows(day: str, count: int) -> pa.Table:
    return pa.table({"day": [day] * count, "amount": pa.array(range(count), pa.float64())})


def test_contexts_write_one_file_per_partition_and_load_them_back(tmp_path) -> None:
    manager = parquet.ParquetUPathIOManager(base_path=parquet.UPath(tmp_path))
    key = dg.AssetKey(["exports", "payments"])
    for day, count in (("2022-05-01", 2), ("2022-05-02", 3)):
        context = dg.build_output_context(
            asset_key=key, partition_key=day, asset_partitions_def=daily
        )
        manager.handle_output(context, _rows(day, count))
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))
    assert files == ["exports/payments/2022-05-01.parquet", "exports/payments/2022-05-02.parquet"]
    loaded = manager.load_input(
        dg.build_input_context(
            asset_key=key,
            partition_key="2022-05-02",
            asset_partitions_def=daily,
            dagster_type=dg.PythonObjectDagsterType(pd.DataFrame),
        )  # fmt: skip
    )
    assert loaded["amount"].tolist() == [0.0, 1.0, 2.0]


def test_a_partitioned_asset_materializes_into_the_data_dir(fresh_data_dir) -> None:
    @dg.asset(key_prefix="exports", partitions_def=daily, io_manager_key="parquet_io_manager")
    def daily_amounts(context: dg.AssetExecutionContext) -> pa.Table:
        return _rows(context.partition_key, int(context.partition_key[-1]))

    @dg.asset(key_prefix="exports", partitions_def=daily, io_manager_key="parquet_io_manager")
    def daily_total(daily_amounts: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"total": [daily_amounts["amount"].sum()]})

    resources = {"parquet_io_manager": parquet.PartitionedParquetIOManager()}
    for key in daily.get_partition_keys():
        result = dg.materialize([daily_amounts, daily_total], partition_key=key,
                                resources=resources)  # fmt: skip
        assert result.success
    base = get_settings().data_dir / "parquet" / "exports"
    assert pq.read_table(base / "daily_amounts" / "2022-05-03.parquet").num_rows == 3
    assert pq.read_table(base / "daily_total" / "2022-05-03.parquet").column(
        "total"
    ).to_pylist() == [3.0]


@pytest.mark.slow
def test_the_stack_writes_to_the_bucket(s3_endpoint, settings, monkeypatch) -> None:
    from pyarrow import fs

    bucket = "parquet-io-test"
    s3 = fs.S3FileSystem(
        access_key="testing", secret_key="testing", endpoint_override=s3_endpoint,
        scheme="http", region="us-east-1", allow_bucket_creation=True,
    )  # fmt: skip
    s3.create_dir(bucket)
    stack = replace(settings, mode="stack", s3_endpoint=s3_endpoint, s3_bucket=bucket,
                    s3_access_key="testing", s3_secret_key="testing")  # fmt: skip
    monkeypatch.setattr(parquet, "get_settings", lambda: stack)
    base = parquet.base_path("", stack)
    assert str(base) == f"s3://{bucket}/parquet"
    manager = parquet.PartitionedParquetIOManager().create_io_manager(None)
    key = dg.AssetKey(["exports", "payments"])
    context = dg.build_output_context(asset_key=key, partition_key="2022-05-01",
                                      asset_partitions_def=daily)  # fmt: skip
    manager.handle_output(context, _rows("2022-05-01", 4))
    info = s3.get_file_info(f"{bucket}/parquet/exports/payments/2022-05-01.parquet")
    assert info.type == fs.FileType.File and info.size > 0
    loaded = manager.load_input(
        dg.build_input_context(
            asset_key=key,
            partition_key="2022-05-01",
            asset_partitions_def=daily,
            dagster_type=dg.PythonObjectDagsterType(pa.Table),
        )  # fmt: skip
    )
    assert loaded.num_rows == 4
