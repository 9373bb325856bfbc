"""The Iceberg IO manager: whole tables, and time partitions replaced and loaded one by one."""

from datetime import datetime

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest

from playground import lakehouse
from playground.orchestration.io.iceberg import ArrowIcebergIOManager

monthly = dg.MonthlyPartitionsDefinition(start_date="2022-02-01", end_date="2022-05-01")


def _month(month: int, amounts: list[float]) -> pa.Table:
    return pa.table(
        {
            "payment_id": pa.array(range(len(amounts)), pa.int64()),
            "amount": pa.array(amounts, pa.float64()),
            "payment_date": pa.array(
                [datetime(2022, month, 1 + i) for i in range(len(amounts))], pa.timestamp("us")
            ),
        }
    )


def test_output_and_input_contexts_round_trip_one_partition(fresh_data_dir) -> None:
    manager = ArrowIcebergIOManager()
    metadata = {"partition_expr": "payment_date"}
    key = dg.AssetKey(["shop", "payments"])
    for month, amounts in ((2, [1.0, 2.0]), (3, [5.0])):
        context = dg.build_output_context(
            asset_key=key, partition_key=f"2022-0{month}-01", definition_metadata=metadata,
            asset_partitions_def=monthly,
        )  # fmt: skip
        manager.handle_output(context, _month(month, amounts))
    upstream = dg.build_output_context(asset_key=key, definition_metadata=metadata)
    loaded = manager.load_input(
        dg.build_input_context(
            asset_key=key,
            partition_key="2022-03-01",
            asset_partitions_def=monthly,
            upstream_output=upstream,
            dagster_type=dg.PythonObjectDagsterType(pd.DataFrame),
        )  # fmt: skip
    )
    assert isinstance(loaded, pd.DataFrame)
    assert loaded["amount"].tolist() == [5.0]
    assert lakehouse.read("shop.payments").num_rows == 3


def test_rematerializing_a_partition_replaces_only_it(fresh_data_dir) -> None:
    @dg.asset(
        key_prefix="shop", partitions_def=monthly, io_manager_key="iceberg_io_manager",
        metadata={"partition_expr": "payment_date"},
    )  # fmt: skip
    def payments(context: dg.AssetExecutionContext) -> pa.Table:
        month = context.partition_time_window.start.month
        return _month(month, [float(month)] * month)

    resources = {"iceberg_io_manager": ArrowIcebergIOManager()}
    for key in monthly.get_partition_keys():
        assert dg.materialize([payments], partition_key=key, resources=resources).success
    table = lakehouse.read("shop.payments")
    assert sorted(table.column("amount").to_pylist()) == [2.0] * 2 + [3.0] * 3 + [4.0] * 4
    commits = len(lakehouse.catalog().load_table("shop.payments").metadata.metadata_log)
    assert dg.materialize([payments], partition_key="2022-03-01", resources=resources).success
    table = lakehouse.catalog().load_table("shop.payments")
    assert len(table.metadata.metadata_log) == commits + 1
    assert table.scan().to_arrow().num_rows == 9  # March replaced, not added


def test_rows_outside_the_partition_are_refused(fresh_data_dir) -> None:
    context = dg.build_output_context(
        asset_key=dg.AssetKey(["shop", "late"]), partition_key="2022-02-01",
        definition_metadata={"partition_expr": "payment_date"}, asset_partitions_def=monthly,
    )  # fmt: skip
    with pytest.raises(dg.Failure, match="1 of 2 rows have payment_date outside"):
        ArrowIcebergIOManager().handle_output(
            context, pa.concat_tables([_month(2, [1.0]), _month(3, [1.0])])
        )
    assert not lakehouse.catalog().table_exists("shop.late")


def test_a_partitioned_asset_without_its_column_gets_the_fix(fresh_data_dir) -> None:
    context = dg.build_output_context(
        asset_key=dg.AssetKey(["shop", "nameless"]), partition_key="2022-02-01",
        asset_partitions_def=monthly,
    )  # fmt: skip
    with pytest.raises(dg.Failure, match="metadata=\\{'partition_expr': 'payment_date'\\}"):
        ArrowIcebergIOManager().handle_output(context, _month(2, [1.0]))


def test_concurrent_replaces_of_one_month_leave_one_writers_rows(fresh_data_dir) -> None:
    """Two writers replace the same month at once: each commit is all or nothing, so the month
    ends up holding exactly one writer's rows (never both, never a mix), and no error is silent."""
    import threading

    from playground.lakehouse.tables import write_window

    cat = lakehouse.catalog()
    start, end = datetime(2022, 3, 1), datetime(2022, 4, 1)
    write_window("shop.race", _month(3, [0.0]), "payment_date", start, end, cat)
    frames = {"a": _month(3, [1.0] * 5), "b": _month(3, [2.0] * 7)}
    errors: list[BaseException] = []

    def replace(name: str) -> None:
        try:
            write_window("shop.race", frames[name], "payment_date", start, end,
                         lakehouse.catalog())  # fmt: skip
        except Exception as exc:  # a lost race must say so
            errors.append(exc)

    threads = [threading.Thread(target=replace, args=(n,)) for n in frames]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    amounts = lakehouse.read("shop.race").column("amount").to_pylist()
    assert amounts in ([1.0] * 5, [2.0] * 7), amounts
    assert len(errors) <= 1
    for error in errors:  # the loser, if PyIceberg's retries could not serialize them
        assert isinstance(error, lakehouse.ConcurrentWrite), error
        assert "another writer replaced" in str(error) and "committed nothing" in str(error)
