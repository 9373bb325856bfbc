"""The Trino IO manager against a real Trino (the `trino_stack` fixture)."""

from dataclasses import replace
from datetime import datetime

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest

from playground import lakehouse
from playground.engines import trino
from playground.orchestration.io import trino as trino_io
from playground.services import processes
from playground.stack import rest_catalog
from tests.helpers import free_port

pytestmark = [pytest.mark.stack, pytest.mark.slow]
monthly = dg.MonthlyPartitionsDefinition(start_date="2022-02-01", end_date="2022-05-01")


@pytest.fixture
def stack_env(trino_stack, monkeypatch):
    monkeypatch.setattr(trino_io, "get_settings", lambda: trino_stack)
    return trino_stack


def _month(month: int, rows: int) -> pa.Table:
    return pa.table({
        "payment_id": pa.array(range(rows), pa.int32()),
        "amount": pa.array([float(month)] * rows),
        "payment_date": pa.array([datetime(2022, month, 1 + i) for i in range(rows)],
                                 pa.timestamp("us", tz="UTC")),
    })  # fmt: skip


def test_an_asset_is_stored_for_trino_and_loaded_through_it(stack_env) -> None:
    @dg.asset(key_prefix="trino_io", io_manager_key="trino_io_manager")
    def films() -> pd.DataFrame:
        return pd.DataFrame({"film_id": [1, 2, 3], "title": ["A", "B", "C"]})

    @dg.asset(key_prefix="trino_io", io_manager_key="trino_io_manager")
    def film_count(films: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"films": [len(films)]})

    resources = {"trino_io_manager": trino_io.TrinoIcebergIOManager()}
    result = dg.materialize([films, film_count], resources=resources)
    assert result.success
    metadata = result.asset_materializations_for_node("trino_io__films")[0].metadata
    assert metadata["dagster/row_count"].value == 3
    assert metadata["table"].value == "iceberg.trino_io.films"
    assert metadata["trino_query"].value.endswith(metadata["trino_query_id"].value)
    _, rows = trino.execute("select films from iceberg.trino_io.film_count", settings=stack_env)
    assert rows == [(3,)]


def test_a_month_is_replaced_in_one_commit_and_loaded_alone(stack_env) -> None:
    @dg.asset(key_prefix="trino_io", partitions_def=monthly, io_manager_key="trino_io_manager",
              metadata={"partition_expr": "payment_date"})  # fmt: skip
    def payments(context: dg.AssetExecutionContext) -> pa.Table:
        month = context.partition_time_window.start.month
        return _month(month, month + int(context.run.tags.get("extra", "0")))

    resources = {"trino_io_manager": trino_io.TrinoIcebergIOManager()}
    for key in monthly.get_partition_keys():
        assert dg.materialize([payments], partition_key=key, resources=resources).success
    table = lakehouse.catalog(stack_env).load_table("trino_io.payments")
    commits = len(table.metadata.metadata_log)
    result = dg.materialize([payments], partition_key="2022-03-01", resources=resources,
                            tags={"extra": "2"})  # fmt: skip
    assert result.success
    table = lakehouse.catalog(stack_env).load_table("trino_io.payments")
    assert len(table.metadata.metadata_log) == commits + 1
    _, rows = trino.execute(
        "select month(payment_date), count(*) from iceberg.trino_io.payments group by 1 order by 1",
        settings=stack_env,
    )
    assert rows == [(2, 2), (3, 5), (4, 4)]
    loaded = trino_io.TrinoIcebergIOManager().load_input(
        dg.build_input_context(
            asset_key=dg.AssetKey(["trino_io", "payments"]),
            partition_key="2022-04-01",
            asset_partitions_def=monthly,
            upstream_output=dg.build_output_context(
                asset_key=dg.AssetKey(["trino_io", "payments"]),
                definition_metadata={"partition_expr": "payment_date"},
            ),
        )  # fmt: skip
    )
    assert loaded.num_rows == 4


def test_trino_down_fails_with_the_hint_and_writes_nothing(stack_env, monkeypatch) -> None:
    down = replace(stack_env, trino_port=free_port())
    monkeypatch.setattr(trino_io, "get_settings", lambda: down)
    context = dg.build_output_context(asset_key=dg.AssetKey(["trino_io", "never"]))
    with pytest.raises(dg.Failure, match="Trino at .* is unreachable"):
        trino_io.TrinoIcebergIOManager().handle_output(context, _month(2, 1))
    assert not lakehouse.catalog(stack_env).table_exists("trino_io.never")


def test_a_hostile_name_is_refused_before_anything_runs(stack_env) -> None:
    context = dg.build_output_context(asset_key=dg.AssetKey(["trino_io", 'x"; drop table y; --']))
    with pytest.raises(ValueError, match="not a valid table identifier"):
        trino_io.TrinoIcebergIOManager().handle_output(context, _month(2, 1))


def test_a_column_trino_cannot_take_is_named_and_nothing_is_written(stack_env) -> None:
    data = _month(2, 1).append_column("late_by", pa.array([1], pa.duration("s")))
    context = dg.build_output_context(asset_key=dg.AssetKey(["trino_io", "durations"]))
    with pytest.raises(dg.Failure, match=r"iceberg\.trino_io\.durations\.late_by is duration"):
        trino_io.TrinoIcebergIOManager().handle_output(context, data)
    assert not lakehouse.catalog(stack_env).table_exists("trino_io.durations")


def _one_table_asset():
    @dg.asset(key_prefix="trino_io_guard", io_manager_key="trino_io_manager")
    def films() -> pd.DataFrame:
        return pd.DataFrame({"film_id": [1, 2], "title": ["A", "B"]})

    return films


def _failure(result) -> str:
    (event,) = result.get_step_failure_events()
    return event.event_specific_data.error.message


def test_in_embedded_mode_it_refuses_before_writing(monkeypatch, settings) -> None:
    monkeypatch.setattr(trino_io, "get_settings", lambda: settings)  # embedded, Trino or not
    resources = {"trino_io_manager": trino_io.TrinoIcebergIOManager()}
    result = dg.materialize([_one_table_asset()], resources=resources, raise_on_error=False)
    assert not result.success
    assert "only the stack shares" in _failure(result) and "Nothing was written" in _failure(result)
    assert not lakehouse.catalog(settings).table_exists("trino_io_guard.films")


def test_a_trino_reading_another_catalog_fails_the_run(trino_stack, monkeypatch, tmp_path) -> None:
    # a second REST catalog server over the same database and bucket, serving another catalog
    # name: what the IO manager writes through it, the stack's Trino cannot see
    other = replace(trino_stack, catalog_name="not_the_one_trino_reads")
    port = free_port()
    server = rest_catalog.start(other, tmp_path / "other", port,
                                (trino_stack.pg_host, trino_stack.pg_port),
                                trino_stack.s3_endpoint, progress=lambda _l: None)  # fmt: skip
    try:
        elsewhere = replace(other, catalog_uri=f"http://127.0.0.1:{port}")
        monkeypatch.setattr(trino_io, "get_settings", lambda: elsewhere)
        resources = {"trino_io_manager": trino_io.TrinoIcebergIOManager()}
        result = dg.materialize([_one_table_asset()], resources=resources, raise_on_error=False)
    finally:
        processes.stop(server.pid)
    assert not result.success
    assert "reads another catalog than the lakehouse writes" in _failure(result)
