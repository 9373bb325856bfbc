"""`playground clean` and doctor's leftovers line, after real kill -9s of extract and seed."""

import os
import sys

import psycopg
import pytest

from playground import extract, lakehouse
from playground.datasets.pagila import seed
from playground.lakehouse import clean
from playground.services import postgres
from tests.helpers import EXTRACT_PROGRESS, kill_when, run

pytestmark = pytest.mark.slow


def _databases() -> set[str]:
    with postgres.connect("postgres") as conn:
        return {r[0] for r in conn.execute("select datname from pg_database")}


def test_clean_removes_what_killed_runs_left_and_nothing_in_use(fresh_postgres) -> None:
    from playground.bench.extract import ensure_bench_table

    url, table = ensure_bench_table(1_000_000, print_=lambda _line: None)
    quiet = dict(source=url, progress=lambda _line: None)
    # a table with history: its first snapshot's files are no longer current, but referenced
    extract.extract("raw.kept", query=f"select * from {table} limit 1000", **quiet)
    first = lakehouse.snapshots("raw.kept")[-1]["snapshot_id"]
    extract.extract("raw.kept", query=f"select * from {table} limit 500", **quiet)
    # a killed extract into the same namespace leaves staged files
    kill_when([sys.executable, "-m", "playground.cli", "extract", "--source", url,
               "--table", table, "--to", "raw.killed", "--method", "pandas-chunks",
               "--batch-rows", "20000"], EXTRACT_PROGRESS)  # fmt: skip
    # a live writer's staging folder (this process is alive) must be left alone
    live = fresh_postgres / "warehouse" / "raw" / "live" / "data" / f"extract-x-p{os.getpid()}-y"
    live.mkdir(parents=True)
    (live / "part-0.parquet").write_bytes(b"in progress")
    # a killed seed leaves its loading database; a running seed's must stay
    kill_when([sys.executable, "-m", "playground.cli", "seed", "--scale", "5",
               "--database", "pagila_killed"], "customer", extra_wait=0.1)  # fmt: skip
    assert "pagila_killed__loading" in _databases()
    postgres.ensure_database("pagila_busy__loading")
    running_seed = psycopg.connect(postgres.url("postgres"), autocommit=True)
    running_seed.execute("select pg_advisory_lock(%s)", (seed.lock_key("pagila_busy"),))
    try:
        found = clean.find()
        assert found.databases == ["pagila_killed__loading"]
        assert found.files and all("/raw/killed/data/extract-" in p for p, _ in found.files)
        doctor = run([sys.executable, "-m", "playground.cli", "doctor"])
        assert "FAIL leftovers" in doctor.stdout and "next: playground clean" in doctor.stdout
        assert "pagila_killed__loading" in doctor.stdout

        dry = run([sys.executable, "-m", "playground.cli", "clean", "--dry-run"])
        assert dry.returncode == 0 and "would remove:" in dry.stdout
        assert clean.find().files == found.files  # a dry run removes nothing

        removed = clean.clean(progress=lambda _line: None)
        assert removed.files == found.files
        assert not list((fresh_postgres / "warehouse" / "raw" / "killed").rglob("*.parquet"))
        assert (live / "part-0.parquet").exists()
        assert {"pagila_busy__loading"} <= _databases()
        assert "pagila_killed__loading" not in _databases()
    finally:
        running_seed.close()
        postgres.drop_database("pagila_busy__loading")
    assert lakehouse.read("raw.kept").num_rows == 500
    assert lakehouse.read("raw.kept", snapshot_id=first).num_rows == 1000  # history intact
    assert clean.find().files == [] and clean.find().databases == []
