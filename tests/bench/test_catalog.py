"""`playground bench catalog` on a small frame, against the suite's stack: every figure is
measured and every table holds what was written."""

import pytest

from playground import lakehouse
from playground.bench.catalog import bench_catalog

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def test_bench_catalog_small_run(trino_stack) -> None:
    lines: list[str] = []
    found = bench_catalog(2_000, 3, settings=trino_stack, print_=lines.append)
    assert 0 < found["server_start_seconds"] < 60
    assert found["server_peak_rss"] > 50 * 2**20  # a JVM: more than 50 MB resident
    for method in ("commit-rest", "commit-sql"):
        assert found[method]["commits"] == 3
        assert 0 < found[method]["commit_ms"] <= found[method]["median_ms"]
    for method in ("write-duckdb", "write-pyiceberg"):
        assert found[method]["rows"] == found[method]["table_rows"] == 2_000
    assert lines[-1].startswith("DuckDB's write takes ")
    # the bench's namespace is left empty: its tables were purged
    assert not [
        t
        for n in lakehouse.catalog(trino_stack).list_namespaces()
        if n[0].startswith("bench_")
        for t in lakehouse.catalog(trino_stack).list_tables(n)
    ]
