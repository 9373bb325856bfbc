"""`playground clean` and doctor's leftovers line, after real kill -9s of extract and seed."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from playground import extract, lakehouse
from playground.datasets.pagila import seed
from playground.lakehouse import clean
from playground.services import postgres
from playground.services.processes import kill_at_line
from tests.helpers import EXTRACT_PROGRESS, ROOT, kill_when, run

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


# --- what clean keeps: every catalog of the data directory, every snapshot, running writers ---

GENERATED = "select g as id, md5(g::text) as note from generate_series(1, {n}) g"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "playground.cli", *args]


def _env(catalog_name: str | None = None) -> dict[str, str]:
    return {"PLAYGROUND_CATALOG_NAME": catalog_name} if catalog_name else {}


def _extract(to: str, rows: int, catalog_name: str | None = None) -> None:
    """A finished `playground extract` in its own process (so its writer is gone afterwards)."""
    query = GENERATED.format(n=rows)
    done = run(_cli("extract", "--source", postgres.url("postgres"), "--query", query, "--to", to),
               env=_env(catalog_name))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


def _kill_extract(to: str, catalog_name: str | None = None) -> None:
    """An extract killed with SIGKILL while it stages files."""
    query = GENERATED.format(n=20_000_000)
    command = _cli("extract", "--source", postgres.url("postgres"), "--query", query, "--to", to,
                   "--method", "pandas-chunks", "--batch-rows", "20000")  # fmt: skip
    kill_at_line(command, EXTRACT_PROGRESS, 0.3, cwd=ROOT, env={**os.environ, **_env(catalog_name)})


def _files(data: Path) -> set[Path]:
    return {p for p in (data / "warehouse").rglob("*") if p.is_file()}


def _rows(data: Path, identifier: str, catalog_name: str, snapshot_id: int | None = None):
    """(rows, sum of ids) read by PyIceberg and by DuckDB from the table's metadata file."""
    from pyiceberg.catalog.sql import SqlCatalog

    from playground.engines import duck

    cat = SqlCatalog(catalog_name, uri=f"sqlite:///{data / 'catalog.db'}",
                     warehouse=(data / "warehouse").as_uri())  # fmt: skip
    table = cat.load_table(identifier)
    arrow = table.scan(snapshot_id=snapshot_id).to_arrow()
    by_pyiceberg = (arrow.num_rows, sum(arrow.column("id").to_pylist()))
    snapshot = table.current_snapshot().snapshot_id if snapshot_id is None else snapshot_id
    with duck.connect() as con:
        by_duckdb = con.execute(
            "select count(*), sum(id) from iceberg_scan(?, snapshot_from_id => ?)",
            [table.metadata_location, snapshot],
        ).fetchone()
    assert by_pyiceberg == tuple(by_duckdb)
    return by_pyiceberg


def _expected(n: int) -> tuple[int, int]:
    return n, n * (n + 1) // 2  # generate_series(1, n)


def _leftovers_line(doctor_stdout: str) -> str:
    lines = doctor_stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if " leftovers " in line)
    return "\n".join(lines[at : at + 2])


def test_another_catalog_name_never_deletes_committed_files(fresh_postgres) -> None:
    """The reproduction: committed files looked like a killed run's to another catalog name."""
    _extract("raw.kept", 5_000)  # catalog `playground`; its writer has exited
    before = _files(fresh_postgres)
    assert any("/data/extract-" in str(p) for p in before)

    doctor = run(_cli("doctor"), env=_env("other"))
    line = _leftovers_line(doctor.stdout)
    assert "playground clean" not in line and line.startswith("ok"), line
    cleaned = run(_cli("clean"), env=_env("other"))
    assert cleaned.returncode == 0, cleaned.stderr
    assert "removed: none" in cleaned.stdout
    assert _files(fresh_postgres) == before
    assert _rows(fresh_postgres, "raw.kept", "playground") == _expected(5_000)


def test_two_catalog_names_share_a_warehouse_and_a_killed_run_is_cleaned(fresh_postgres) -> None:
    """Two catalogs write to the same table folder; one has an older snapshot; an extract is
    killed there. A clean under a third name removes exactly the killed run's files."""
    _extract("raw.shared", 3_000)
    _extract("raw.shared", 2_000, "second")
    first = lakehouse.snapshots("raw.shared", cat=_sql_catalog(fresh_postgres, "second"))
    _extract("raw.shared", 1_000, "second")  # replaces: the 2,000 rows live in an old snapshot
    committed = _files(fresh_postgres)
    _kill_extract("raw.shared")
    killed = _files(fresh_postgres) - committed
    assert killed and all("/raw/shared/data/extract-" in str(p) for p in killed)
    folders = {p.parent for p in killed}

    cleaned = run(_cli("clean"), env=_env("third"))
    assert cleaned.returncode == 0, cleaned.stderr
    assert f"removed: {len(killed)} staged file(s)" in cleaned.stdout
    assert _files(fresh_postgres) == committed
    assert not any(folder.exists() for folder in folders)
    assert _rows(fresh_postgres, "raw.shared", "playground") == _expected(3_000)
    assert _rows(fresh_postgres, "raw.shared", "second") == _expected(1_000)
    old = first[-1]["snapshot_id"]
    assert _rows(fresh_postgres, "raw.shared", "second", old) == _expected(2_000)


def _sql_catalog(data: Path, name: str):
    from pyiceberg.catalog.sql import SqlCatalog

    return SqlCatalog(name, uri=f"sqlite:///{data / 'catalog.db'}",
                      warehouse=(data / "warehouse").as_uri())  # fmt: skip


def test_a_running_writer_keeps_its_files_while_clean_runs(fresh_postgres) -> None:
    """A real extract stages files while `playground clean` runs: nothing of it goes, and the
    extract then commits every row. The writer is held (SIGSTOP, as a busy machine may hold it)
    from its first staged file until `clean` has run: on an idle machine it could otherwise
    finish staging before `clean` looks, and a writer with nothing left to commit holds back
    nothing."""
    rows = 2_000_000
    command = _cli("extract", "--source", postgres.url("postgres"), "--query",
                   GENERATED.format(n=rows), "--to", "raw.live", "--method", "pandas-chunks",
                   "--batch-rows", "20000")  # fmt: skip
    writer = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        for line in writer.stdout:
            if re.search(EXTRACT_PROGRESS, line):
                break
        os.kill(writer.pid, signal.SIGSTOP)
        staged = _files(fresh_postgres)
        assert staged and all(f"-p{writer.pid}-" in str(p) for p in staged)
        _kill_extract("raw.killed")  # killed after the writer started: waits for it
        killed = _files(fresh_postgres) - staged
        cleaned = run(_cli("clean"))
        assert cleaned.returncode == 0, cleaned.stderr
        assert "removed: none" in cleaned.stdout
        assert f"its writer (pid {writer.pid}) is running" in cleaned.stdout
        assert "younger than a writer still staging files" in cleaned.stdout
        assert all(p.exists() for p in staged | killed)
        os.kill(writer.pid, signal.SIGCONT)
        assert writer.wait(timeout=600) == 0
    finally:
        writer.kill()
        writer.wait()
    assert _rows(fresh_postgres, "raw.live", "playground") == _expected(rows)
    committed = _files(fresh_postgres) - killed
    cleaned = run(_cli("clean"))  # the writer is done: the killed run's files go, nothing else
    assert f"removed: {len(killed)} staged file(s)" in cleaned.stdout, cleaned.stdout
    assert _files(fresh_postgres) == committed
    assert _rows(fresh_postgres, "raw.live", "playground") == _expected(rows)


# A writer that stages many small files (as a killed extract of many months leaves), then waits
MANY_FILES = """
import sys, time
from pathlib import Path
from playground.lakehouse.staging import staging_folder_name
folder = Path(sys.argv[1]) / staging_folder_name()
folder.mkdir(parents=True)
for i in range(int(sys.argv[2])):
    (folder / f"part-{i}.parquet").write_bytes(b"PAR1 staged, never committed")
print("staged", flush=True)
time.sleep(600)
"""


def test_two_cleans_at_once_both_finish(fresh_postgres) -> None:
    """Two `playground clean` processes over the same leftovers of a killed writer: neither
    fails on a file or folder the other removed first."""
    table = fresh_postgres / "warehouse" / "raw" / "twice" / "data"
    for _round in range(2):
        kill_at_line([sys.executable, "-c", MANY_FILES, str(table), "20000"], "^staged",
                     0, cwd=ROOT)  # fmt: skip
        assert len(_files(fresh_postgres)) == 20000
        pipes = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cleans = [subprocess.Popen(_cli("clean"), cwd=ROOT, **pipes) for _ in range(2)]
        results = [(c.wait(timeout=300), *c.communicate()) for c in cleans]
        for code, out, err in results:
            assert code == 0 and "Traceback" not in err, err
            assert out.startswith(("removed: 20000 staged file(s)", "removed: none"))
        assert any(out.startswith("removed: 20000") for _, out, _ in results)
        assert _files(fresh_postgres) == set()
        assert list(table.iterdir()) == []


def test_folders_clean_cannot_judge_are_kept_with_the_reason(fresh_data_dir) -> None:
    """A folder staged on another machine, and one in a layout clean does not know, stay."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    gone = int(child.stdout)  # a PID whose process has exited
    data = fresh_data_dir / "warehouse" / "raw" / "t" / "data"
    elsewhere = data / f"extract-20260101-000000-p{gone}-helsewhere-abcdef12"
    unknown = data / "nested" / f"extract-20260101-000000-p{gone}-abcdef12"
    for folder in (elsewhere, unknown):
        folder.mkdir(parents=True)
        (folder / "part-0.parquet").write_bytes(b"staged")
    cleaned = run(_cli("clean"))
    assert cleaned.returncode == 0, cleaned.stderr
    assert "removed: none" in cleaned.stdout
    assert "staged on 'elsewhere'" in cleaned.stdout
    assert "not where an extract stages files" in cleaned.stdout
    assert (elsewhere / "part-0.parquet").exists() and (unknown / "part-0.parquet").exists()


def test_files_of_an_expired_snapshot_stay_while_a_metadata_file_lists_them(fresh_postgres) -> None:
    """A snapshot expired from the table is still listed by the earlier metadata files the table
    keeps; its files stay, and that metadata file still reads its rows."""
    from playground.engines import duck

    _extract("raw.expired", 2_000)
    table = _sql_catalog(fresh_postgres, "playground").load_table("raw.expired")
    old_metadata, old_snapshot = table.metadata_location, table.current_snapshot().snapshot_id
    _extract("raw.expired", 1_000)  # replaces: the 2,000 rows are only in the first snapshot
    table = _sql_catalog(fresh_postgres, "playground").load_table("raw.expired")
    table.maintenance.expire_snapshots().by_id(old_snapshot).commit()
    table = _sql_catalog(fresh_postgres, "playground").load_table("raw.expired")
    assert old_snapshot not in {s.snapshot_id for s in table.snapshots()}
    files = _files(fresh_postgres)

    cleaned = run(_cli("clean"), env=_env("other"))
    assert cleaned.returncode == 0, cleaned.stderr
    assert "removed: none" in cleaned.stdout
    assert _files(fresh_postgres) == files
    with duck.connect() as con:
        old = con.execute("select count(*), sum(id) from iceberg_scan(?)", [old_metadata])
        assert tuple(old.fetchone()) == _expected(2_000)
    assert _rows(fresh_postgres, "raw.expired", "playground") == _expected(1_000)
