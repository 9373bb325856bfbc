import pyarrow as pa
import pytest

from playground import lakehouse
from playground.engines import duck


def test_write_replace_and_read_through_duckdb(fresh_data_dir) -> None:
    first = pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"]})
    table = lakehouse.write_table("test_ns.things", first)
    assert table.scan().to_arrow().num_rows == 3
    first_snapshot = table.current_snapshot().snapshot_id
    second = pa.table({"id": [7, 8], "name": ["x", "y"], "extra": [1.5, 2.5]})
    table = lakehouse.write_table("test_ns.things", second)
    # one transaction: PyIceberg's overwrite commits a delete and an append snapshot together
    assert [s.operation.value for s in (s.summary for s in table.snapshots())] == [
        "append",
        "delete",
        "append",
    ]
    assert table.scan(snapshot_id=first_snapshot).to_arrow().num_rows == 3
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == [7, 8]
    assert "extra" in table.schema().column_names

    with duck.connect() as con:
        view = lakehouse.register_duckdb_view(con, "test_ns.things")
        assert view == "things"
        rows = con.execute("select id, name, extra from things order by id").fetchall()
    assert rows == [(7, "x", 1.5), (8, "y", 2.5)]


def test_metadata_location_is_a_plain_path(fresh_data_dir) -> None:
    lakehouse.write_table("test_ns.t", pa.table({"a": [1]}))
    location = lakehouse.metadata_location("test_ns.t")
    assert location.startswith(str(fresh_data_dir.resolve()))
    assert location.endswith(".metadata.json")


@pytest.mark.parametrize("bad", ["nonamespace", "a.b.c", "Bad.table", "ns.drop table", "ns.1x"])
def test_invalid_identifiers_are_refused(bad: str, fresh_data_dir) -> None:
    with pytest.raises(ValueError, match="not a valid table identifier"):
        lakehouse.write_table(bad, pa.table({"a": [1]}))
    assert lakehouse.catalog().list_namespaces() == []


def test_stack_catalog_properties(stack_settings) -> None:
    props = lakehouse.catalog_properties(stack_settings)
    assert props["uri"] == stack_settings.catalog_uri  # the REST catalog; it knows the warehouse
    assert "warehouse" not in props
    assert props["s3.secret-access-key"] == stack_settings.s3_secret_key
    assert props["s3.region"] == "us-east-1"
    assert props["s3.path-style-access"] == "true"


def test_iceberg_schema_numbers_the_fields_in_order() -> None:
    # the one private PyIceberg call (Catalog._convert_schema_if_needed) still works as relied on
    schema = pa.schema([("id", pa.int64()), ("at", pa.timestamp("us", tz="UTC"))])
    converted = lakehouse.iceberg_schema(schema)
    assert [(f.field_id, f.name) for f in converted.fields] == [(1, "id"), (2, "at")]
    assert str(converted.find_field("at").field_type) == "timestamptz"


@pytest.mark.parametrize("name", ["My Data #1 é", "a=b %41 100%", "q?x [1]", 'l\'été; "x"'])
def test_tables_stay_inside_a_data_directory_with_any_name(name, tmp_path, monkeypatch) -> None:
    parent = tmp_path / "parent"
    data = parent / name
    data.mkdir(parents=True)
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(data))
    lakehouse.write_table("test_ns.t", pa.table({"a": [1, 2]}))
    lakehouse.write_table("test_ns.t", pa.table({"a": [3, 4, 5]}))
    assert [p.name for p in parent.iterdir()] == [name]  # no encoded sibling folder
    written = list((data / "warehouse" / "test_ns" / "t").rglob("*.parquet"))
    assert len(written) == 2, written
    with duck.connect() as con:
        lakehouse.register_duckdb_view(con, "test_ns.t")
        assert con.execute("select sum(a) from t").fetchone() == (12,)
    assert (data / "catalog.db").is_file()
