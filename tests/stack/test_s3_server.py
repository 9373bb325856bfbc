"""The stack's S3 code path, against moto_server on 127.0.0.1 (an S3 test double, not MinIO).

The catalog here is SQLite-backed (the stack's is PostgreSQL); everything that touches the object
store (PyIceberg writes, DuckDB reads with the S3 secret, extraction writing Parquet) is the real
stack-mode code.
"""

from dataclasses import replace

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog

from playground import extract, lakehouse
from playground.engines import duck
from playground.services import postgres

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(s3_endpoint, settings, tmp_path):
    bucket = f"warehouse-{tmp_path.name.replace('_', '-')[-20:].strip('-')}".lower()
    stack_settings = replace(
        settings, mode="stack", s3_endpoint=s3_endpoint, s3_bucket=bucket,
        s3_access_key="testing", s3_secret_key="testing",
    )  # fmt: skip
    from pyarrow import fs

    s3 = fs.S3FileSystem(
        access_key="testing", secret_key="testing", endpoint_override=s3_endpoint,
        scheme="http", region="us-east-1", allow_bucket_creation=True,
    )  # fmt: skip
    s3.create_dir(bucket)
    properties = lakehouse.catalog_properties(stack_settings)
    # a SQLite catalog over the S3 files: this tests the object store, not the REST catalog
    properties.update(
        uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=stack_settings.warehouse
    )
    return stack_settings, SqlCatalog(stack_settings.catalog_name, **properties), s3


def test_pyiceberg_writes_duckdb_reads_on_s3(stack) -> None:
    settings, cat, s3 = stack
    data = pa.table({"id": list(range(1000)), "name": [f"n{i}" for i in range(1000)]})
    table = lakehouse.write_table("s3test.things", data, cat=cat)
    assert table.metadata_location.startswith(f"s3://{settings.s3_bucket}/s3test/things/")
    with duck.connect(settings=settings) as con:
        lakehouse.register_duckdb_view(con, "s3test.things", cat=cat)
        assert con.execute("select count(*), sum(id) from things").fetchone() == (1000, 499500)


def test_extract_to_s3(stack) -> None:
    settings, cat, s3 = stack
    postgres.ensure_database("s3_source")
    with postgres.connect("s3_source", autocommit=True) as conn:
        conn.execute(
            "drop table if exists pay; create table pay as select g as payment_id, "
            "(g % 50)::numeric(5,2) as amount, timestamptz '2022-01-20Z' + g * interval '3 hours' "
            "as payment_date from generate_series(1, 3000) g"
        )
    for method in ("duckdb", "adbc"):
        result = extract.extract(
            f"s3test.pay_{method}", table="pay", source=postgres.url("s3_source"), method=method,
            partition_by="payment_date:month", settings=settings, cat=cat,
            progress=lambda _line: None,
        )  # fmt: skip
        assert result.rows == 3000
        assert all(f.startswith(f"s3://{settings.s3_bucket}/") for f in result.files)
        table = cat.load_table(f"s3test.pay_{method}")
        assert table.scan().to_arrow().num_rows == 3000
        assert table.inspect.partitions().num_rows == 13
    with duck.connect(settings=settings) as con:
        lakehouse.register_duckdb_view(con, "s3test.pay_duckdb", "a", cat=cat)
        lakehouse.register_duckdb_view(con, "s3test.pay_adbc", "b", cat=cat)
        assert con.execute("select count(*) from (select * from a except select * from b)"
                           ).fetchone() == (0,)  # fmt: skip


def test_doctor_checks_the_bucket(stack) -> None:
    from dataclasses import replace as _replace

    from playground.cli import doctor

    stack_settings, _, _ = stack
    assert doctor.bucket_probe(stack_settings) == (
        f"{stack_settings.s3_endpoint}: bucket {stack_settings.s3_bucket!r}"
    )
    with pytest.raises(doctor.Fix, match="bucket 'no-such-bucket' does not exist") as err:
        doctor.bucket_probe(_replace(stack_settings, s3_bucket="no-such-bucket"))
    assert "playground stack up" in err.value.hint
