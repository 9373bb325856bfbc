"""The iris assets materialized in process into a fresh catalog."""

from pathlib import Path

import dagster as dg
import pytest

from playground import lakehouse
from playground.datasets.iris import dataset
from playground.orchestration.definitions import defs
from playground.orchestration.defs.iris import assets, checks
from playground.orchestration.io.iceberg import ArrowIcebergIOManager


def _materialize(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [assets.iris_dataset, assets.iris_cleaned, checks.iris_cleaned_is_complete],
        resources={"iceberg_io_manager": ArrowIcebergIOManager()},
        instance=instance,
        raise_on_error=False,
    )


def test_iris_assets_write_iceberg_tables(fresh_data_dir) -> None:
    with dg.instance_for_test() as instance:
        result = _materialize(instance)
        assert result.success
        cleaned_meta = result.asset_materializations_for_node("iris__iris_cleaned")[0].metadata
        assert cleaned_meta["dagster/row_count"].value == 149
        assert cleaned_meta["table"].value == "iris.iris_cleaned"
        columns = [c.name for c in cleaned_meta["dagster/column_schema"].value.columns]
        assert columns == list(dataset.COLUMNS)
        check = result.get_asset_check_evaluations()[0]
        assert check.passed
        assert check.metadata["duplicate_rows"].value == 0
        assert check.metadata["species"].value == {
            "Iris-setosa": 50,
            "Iris-versicolor": 50,
            "Iris-virginica": 49,
        }

    cat = lakehouse.catalog()
    assert cat.load_table("iris.iris_dataset").scan().to_arrow().num_rows == 150
    cleaned = cat.load_table("iris.iris_cleaned").scan().to_arrow()
    assert cleaned.num_rows == 149
    # Fisher's petal lengths sum to 563.7 cm; the dropped duplicate had 5.1 cm
    assert round(sum(cleaned.column("petal_length_cm").to_pylist()), 1) == 558.6


def test_bad_csv_fails_and_writes_nothing(fresh_data_dir, tmp_path: Path, monkeypatch) -> None:
    bad = tmp_path / "iris.csv"
    bad.write_text(",".join(dataset.COLUMNS) + "\n5.1,3.5,1.4,wide,Iris-setosa\n")
    monkeypatch.setattr(dataset, "default_path", lambda: bad)
    with dg.instance_for_test() as instance:
        result = _materialize(instance)
    assert not result.success
    failure = result.failure_data_for_node("iris__iris_dataset")
    assert "petal_width_cm is 'wide', not a number" in failure.error.cause.message
    assert str(bad) in failure.error.cause.message
    assert lakehouse.catalog().list_namespaces() == []


def test_rerun_replaces_rows(fresh_data_dir) -> None:
    with dg.instance_for_test() as instance:
        assert _materialize(instance).success
        assert _materialize(instance).success
    table = lakehouse.catalog().load_table("iris.iris_cleaned")
    assert table.scan().to_arrow().num_rows == 149
    assert [s.summary.operation.value for s in table.snapshots()] == ["append", "delete", "append"]


def test_unsupported_output_type_is_explained(fresh_data_dir) -> None:
    @dg.asset(io_manager_key="iceberg_io_manager")
    def not_a_table() -> int:
        return 3

    with pytest.raises(TypeError, match="returned int"):
        dg.materialize([not_a_table], resources={"iceberg_io_manager": ArrowIcebergIOManager()})


def test_dagster_cli_validates_the_project() -> None:
    from tests.helpers import BIN, run

    result = run([str(BIN / "dagster"), "definitions", "validate"], timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Validation successful for code location playground" in result.stdout + result.stderr


def test_definitions_load_with_lessons() -> None:
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"iris/iris_dataset", "iris/iris_cleaned", "lessons/tour"} <= keys
    tour = graph.get(dg.AssetKey(["lessons", "tour"]))
    assert dg.AssetKey(["iris", "iris_cleaned"]) in tour.parent_keys


def test_stack_down_names_the_service(fresh_data_dir, monkeypatch) -> None:
    from tests.helpers import free_port

    monkeypatch.setenv("PLAYGROUND_MODE", "stack")
    monkeypatch.setenv("PLAYGROUND_PG_PORT", str(free_port()))
    port = free_port()
    monkeypatch.setenv("PLAYGROUND_CATALOG_URI", f"http://localhost:{port}")
    with dg.instance_for_test() as instance:
        result = _materialize(instance)
    assert not result.success
    message = result.failure_data_for_node("iris__iris_dataset").error.cause.message
    assert f"Iceberg REST catalog at localhost:{port} is unreachable" in message
    assert "docker compose up --wait" in message
    monkeypatch.setenv("PLAYGROUND_MODE", "embedded")
    assert lakehouse.catalog().list_namespaces() == []
