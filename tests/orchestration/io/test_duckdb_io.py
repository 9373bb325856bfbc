"""dagster-duckdb's IO manager on the warehouse file, as the playground wires it."""

from datetime import datetime

import dagster as dg
import duckdb
import pandas as pd

from playground.config.settings import get_settings
from playground.orchestration.io.duckdb import SCHEMA, warehouse_io_manager

monthly = dg.MonthlyPartitionsDefinition(start_date="2022-02-01", end_date="2022-05-01")


def _frame(month: int, rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "payment_id": range(rows),
            "amount": [float(month)] * rows,
            "payment_date": [datetime(2022, month, 1 + i) for i in range(rows)],
        }
    )


def test_contexts_store_and_load_a_table_in_the_warehouse_file(fresh_data_dir) -> None:
    factory = warehouse_io_manager()
    assert factory.database == str(get_settings().duckdb_path)
    manager = factory.create_io_manager(dg.build_init_resource_context())
    config = {"database": factory.database, "schema": SCHEMA, "connection_config": {}}
    key = dg.AssetKey(["revenue"])
    manager.handle_output(
        dg.build_output_context(asset_key=key, resource_config=config), _frame(2, 3)
    )
    loaded = manager.load_input(
        dg.build_input_context(
            asset_key=key,
            resource_config=config,
            upstream_output=dg.build_output_context(asset_key=key, resource_config=config),
            dagster_type=dg.PythonObjectDagsterType(pd.DataFrame),
        )  # fmt: skip
    )
    assert loaded["amount"].tolist() == [2.0, 2.0, 2.0]
    with duckdb.connect(factory.database, read_only=True) as con:
        assert con.execute(f"select count(*) from {SCHEMA}.revenue").fetchone()[0] == 3


def test_a_partition_is_deleted_then_written(fresh_data_dir) -> None:
    @dg.asset(partitions_def=monthly, metadata={"partition_expr": "payment_date"},
              io_manager_key="warehouse_io_manager")  # fmt: skip
    def monthly_payments(context: dg.AssetExecutionContext) -> pd.DataFrame:
        month = context.partition_time_window.start.month
        return _frame(month, month)

    resources = {"warehouse_io_manager": warehouse_io_manager()}
    for key in monthly.get_partition_keys():
        assert dg.materialize([monthly_payments], partition_key=key, resources=resources).success
    assert dg.materialize(
        [monthly_payments], partition_key="2022-03-01", resources=resources
    ).success
    with duckdb.connect(str(get_settings().duckdb_path), read_only=True) as con:
        rows = con.execute(
            f"select month(payment_date), count(*) from {SCHEMA}.monthly_payments "
            "group by 1 order by 1"
        ).fetchall()
    assert rows == [(2, 2), (3, 3), (4, 4)]  # March written twice, stored once
