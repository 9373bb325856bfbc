"""`playground doctor` and `playground clean` in stack mode, against the real bucket (`trino_stack`:
versitygw, the REST catalog over its JDBC tables in PostgreSQL, Trino).

Tables committed by PyIceberg, DuckDB, Trino and `playground extract` through the REST catalog,
and by a second catalog (another `catalog_name` in the same JDBC store) into the same table
folder, all survive doctor and clean: every file of the bucket stays and every table reads the
rows written. What a killed extract left in the bucket goes, unless a writer still staging
started before it: its whole files, and the unfinished multipart upload of the file it was
writing (no listing shows one; its parts stay on the server's disk until it is aborted).

On S3 a Parquet file becomes an object only when it is closed (pyarrow and DuckDB upload it
whole), so an extract killed while it reads leaves no file in a listing; the files a killed run
does leave are whole ones staged but never committed. The killed runs here are real
`playground extract` processes that SIGKILL themselves where their commit would start.
A view in the catalog does not stop clean, and with no stack running clean and doctor say in one
line what to start.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import replace

import pyarrow as pa
import pytest

from playground import lakehouse
from playground.engines import duck, trino
from playground.lakehouse import clean, objectstore
from tests.helpers import EXTRACT_PROGRESS, ROOT, run, settings_env

pytestmark = [pytest.mark.stack, pytest.mark.slow]

NS = "clean_stack"
GENERATED = "select g as id, md5(g::text) as note from generate_series(1, {n}) g"

# `playground extract`, killed (SIGKILL, by itself) once its files are staged, where its commit
# would start: the moment a kill leaves whole staged files in the bucket.
KILLED_AT_COMMIT = """
import os, signal, sys
from playground.extract import commit
def killed(*args, **kwargs):
    print("staged, committing", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
commit.commit = killed
from playground.cli.main import main
sys.exit(main(sys.argv[1:]))
"""

# An extract committed through a second catalog: PyIceberg's SQL catalog named `second` in the
# stack's JDBC store (the REST catalog's database), writing to the same bucket.
SECOND_CATALOG = """
import sys
from pyiceberg.catalog.sql import SqlCatalog
from playground import extract
from playground.config.settings import get_settings
from playground.lakehouse.tables import catalog_properties
from playground.services import postgres
settings = get_settings()
properties = {k: v for k, v in catalog_properties(settings).items() if k.startswith("s3.")}
cat = SqlCatalog("second", uri=postgres.url(settings.catalog_db, settings, driver="psycopg"),
                 warehouse=settings.warehouse, **properties)
extract.extract(sys.argv[1], query=sys.argv[2], method=sys.argv[3], settings=settings, cat=cat)
"""


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "playground.cli", *args]


def _env(stack, catalog_name: str | None = None) -> dict[str, str]:
    env = settings_env(stack)
    if catalog_name:
        env["PLAYGROUND_CATALOG_NAME"] = catalog_name
    return env


def _bucket(stack) -> set[tuple[str, int]]:
    """Every object of the bucket (path, bytes), listed through its S3 API."""
    from pyarrow import fs as pafs

    s3, base = objectstore.filesystem(stack, stack.warehouse)
    listing = s3.get_file_info(pafs.FileSelector(base.rstrip("/"), recursive=True))
    return {(i.path, i.size) for i in listing if i.type == pafs.FileType.File}


def _parquet(objects: set[tuple[str, int]]) -> set[str]:
    return {path for path, _ in objects if path.endswith(".parquet")}


def _extract(stack, to: str, rows: int, method: str = "duckdb") -> None:
    query = GENERATED.format(n=rows)
    done = run(_cli("extract", "--query", query, "--to", to, "--method", method), env=_env(stack))
    assert done.returncode == 0, done.stderr[-2000:]


def _extract_second(stack, to: str, rows: int) -> None:
    command = [sys.executable, "-c", SECOND_CATALOG, to, GENERATED.format(n=rows), "pandas-chunks"]
    done = run(command, env=_env(stack))
    assert done.returncode == 0, done.stderr[-2000:]


def _killed_at_commit(stack, to: str, rows: int) -> None:
    command = [sys.executable, "-c", KILLED_AT_COMMIT, "extract", "--query",
               GENERATED.format(n=rows), "--to", to]  # fmt: skip
    done = run(command, env=_env(stack))
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stderr[-2000:])
    assert "staged, committing" in done.stdout


def _second_catalog(stack):
    from pyiceberg.catalog.sql import SqlCatalog

    from playground.lakehouse.tables import catalog_properties
    from playground.services import postgres

    s3 = {k: v for k, v in catalog_properties(stack).items() if k.startswith("s3.")}
    return SqlCatalog("second", uri=postgres.url(stack.catalog_db, stack, driver="psycopg"),
                      warehouse=stack.warehouse, **s3)  # fmt: skip


def _count_and_sum(table, snapshot_id: int | None = None) -> tuple[int, int]:
    ids = table.scan(snapshot_id=snapshot_id).to_arrow().column("id").to_pylist()
    return len(ids), sum(ids)


def _leftovers_line(stdout: str) -> str:
    lines = stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if " leftovers " in line)
    return "\n".join(lines[at : at + 2])


def _fresh_namespace(stack) -> None:
    cat = lakehouse.catalog(stack)
    cat.create_namespace_if_not_exists(NS)
    for identifier in cat.list_tables(NS):
        cat.purge_table(identifier)
    second = _second_catalog(stack)
    if second.table_exists(f"{NS}.by_extract"):
        second.drop_table(f"{NS}.by_extract")


def _write_tables(stack) -> dict[str, int]:
    """A table by each engine through the REST catalog, two extracts of one table (the first
    rows only in an older snapshot), the same table in the second catalog; old snapshot ids."""
    cat = lakehouse.catalog(stack)
    schema = pa.schema([("id", pa.int64()), ("note", pa.string())])
    by_pyiceberg = cat.create_table(f"{NS}.by_pyiceberg", schema=schema)
    by_pyiceberg.append(pa.table({"id": [1, 2], "note": ["a é", "🦆 b"]}, schema=schema))
    first = by_pyiceberg.current_snapshot().snapshot_id
    by_pyiceberg.append(pa.table({"id": [3], "note": ["שלום"]}, schema=schema))
    with duck.connect(settings=stack) as con:
        duck.attach_lakehouse(con, stack)
        con.execute(f"create table lake.{NS}.by_duckdb (id bigint, note varchar)")
        con.execute(f"insert into lake.{NS}.by_duckdb values (10, 'x'), (11, 'y'), (12, 'z')")
        con.execute(f"delete from lake.{NS}.by_duckdb where id = 10")
    trino.execute(f"create table iceberg.{NS}.by_trino (id bigint, note varchar)", settings=stack)
    trino.execute(f"insert into iceberg.{NS}.by_trino values (20, 't'), (21, 'u')",
                  settings=stack)  # fmt: skip
    trino.execute(f"update iceberg.{NS}.by_trino set note = 'v' where id = 21", settings=stack)
    _extract(stack, f"{NS}.by_extract", 5_000)
    replaced = cat.load_table(f"{NS}.by_extract").current_snapshot().snapshot_id
    _extract(stack, f"{NS}.by_extract", 3_000, method="pandas-chunks")
    _extract_second(stack, f"{NS}.by_extract", 2_000)
    return {"by_pyiceberg": first, "by_extract": replaced}


def _check_tables(stack, old: dict[str, int]) -> None:
    """Every table reads the rows written (expected values are the literals written above)."""
    cat = lakehouse.catalog(stack)
    by_pyiceberg = cat.load_table(f"{NS}.by_pyiceberg")
    rows = sorted(by_pyiceberg.scan().to_arrow().to_pylist(), key=lambda r: r["id"])
    assert [(r["id"], r["note"]) for r in rows] == [(1, "a é"), (2, "🦆 b"), (3, "שלום")]
    assert _count_and_sum(by_pyiceberg, old["by_pyiceberg"]) == (2, 3)
    with duck.connect(settings=stack) as con:
        duck.attach_lakehouse(con, stack)
        by_duckdb = con.sql(f"select id, note from lake.{NS}.by_duckdb order by id").fetchall()
        by_pyiceberg_in_duckdb = con.sql(f"select count(*) from lake.{NS}.by_pyiceberg").fetchone()
    assert by_duckdb == [(11, "y"), (12, "z")]
    assert by_pyiceberg_in_duckdb == (3,)
    _, by_trino = trino.execute(f"select id, note from iceberg.{NS}.by_trino order by id",
                                settings=stack)  # fmt: skip
    assert [tuple(r) for r in by_trino] == [(20, "t"), (21, "v")]
    _, extracted = trino.execute(f"select count(*), sum(id) from iceberg.{NS}.by_extract",
                                 settings=stack)  # fmt: skip
    assert [tuple(r) for r in extracted] == [(3_000, 4_501_500)]  # ids 1..3,000
    by_extract = cat.load_table(f"{NS}.by_extract")
    assert _count_and_sum(by_extract, old["by_extract"]) == (5_000, 12_502_500)
    second = _second_catalog(stack).load_table(f"{NS}.by_extract")
    assert _count_and_sum(second) == (2_000, 2_001_000)


def test_clean_in_the_bucket_removes_only_a_killed_runs_files(trino_stack) -> None:
    stack = trino_stack
    _fresh_namespace(stack)
    old = _write_tables(stack)
    committed = _bucket(stack)
    folders = {p.split("/data/")[1].split("/")[0] for p in _parquet(committed) if "/extract-" in p}
    assert len(folders) == 3  # two extracts through the REST catalog, one through `second`
    _check_tables(stack, old)

    _killed_at_commit(stack, f"{NS}.by_extract", 4_000)  # into the committed tables' folder
    killed = _bucket(stack) - committed
    assert killed and all(f"/{NS}/by_extract/data/extract-" in p for p, _ in killed)
    assert _parquet(killed)

    # doctor's advice (what clean would remove) is exactly the killed run's files, whatever
    # catalog name asks
    found = clean.find(stack)
    assert sorted(found.files) == sorted(killed), found.kept
    assert sorted(clean.find(replace(stack, catalog_name="other")).files) == sorted(killed)
    doctor = run(_cli("doctor"), env=_env(stack, "other"))
    line = _leftovers_line(doctor.stdout)
    assert f"left by killed runs: {len(killed)} staged file(s)" in line, line
    assert "next: playground clean" in line

    dry = run(_cli("clean", "--dry-run"), env=_env(stack, "other"))
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert f"would remove: {len(killed)} staged file(s)" in dry.stdout, dry.stdout
    assert _bucket(stack) == committed | killed  # a dry run removes nothing

    cleaned = run(_cli("clean"), env=_env(stack, "other"))
    assert cleaned.returncode == 0, cleaned.stderr[-2000:]
    assert f"removed: {len(killed)} staged file(s)" in cleaned.stdout, cleaned.stdout
    assert _bucket(stack) == committed  # every committed object stays, every killed one went
    _check_tables(stack, old)

    doctor = run(_cli("doctor"), env=_env(stack))
    line = _leftovers_line(doctor.stdout)
    assert "none left by killed extracts or seeds" in line and "playground clean" not in line
    again = run(_cli("clean"), env=_env(stack))
    assert "removed: none" in again.stdout, again.stdout
    assert _bucket(stack) == committed


def _uploads(stack) -> list[str]:
    """The bucket's unfinished multipart uploads (bucket/key), asked through its S3 API."""
    return sorted(path for path, _, _ in objectstore.open_uploads(stack, stack.warehouse))


def _staging_line(writer: subprocess.Popen, rows: int) -> None:
    """Wait until the writer's progress line says it read `rows` rows (its file is then an
    unfinished multipart upload: S3 shows a file only once it is closed)."""
    for line in writer.stdout:
        found = re.search(EXTRACT_PROGRESS, line)
        if found and int(found.group(0).split()[0].replace(",", "")) >= rows:
            return
    raise AssertionError("the writer ended before staging")


def test_a_running_writer_keeps_younger_leftovers_in_the_bucket(trino_stack) -> None:
    """An extract still staging (its file an unfinished upload) holds back the files of a run
    killed after it started; once it is killed too, clean removes the killed run's files and
    aborts the upload it left."""
    stack = trino_stack
    lakehouse.catalog(stack).create_namespace_if_not_exists(NS)
    clean.clean(stack, progress=lambda _line: None)  # what another test's kill left, if any
    assert clean.find(stack).files == [] and _uploads(stack) == []
    before = _bucket(stack)
    command = _cli("extract", "--query", GENERATED.format(n=20_000_000), "--to", f"{NS}.live",
                   "--method", "pandas-chunks", "--batch-rows", "20000")  # fmt: skip
    writer = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **_env(stack)},
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        _staging_line(writer, 400_000)
        writing = _uploads(stack)  # the file the writer is writing (it rolls every 4M rows)
        assert len(writing) == 1, writing
        assert f"/{NS}/live/data/extract-" in writing[0] and f"-p{writer.pid}-" in writing[0]
        _killed_at_commit(stack, f"{NS}.younger", 3_000)
        killed = _bucket(stack) - before
        assert _parquet(killed) and all(f"/{NS}/younger/data/extract-" in p for p, _ in killed)

        cleaned = run(_cli("clean"), env=_env(stack))
        assert cleaned.returncode == 0, cleaned.stderr[-2000:]
        assert "removed: none" in cleaned.stdout, cleaned.stdout
        assert f"its writer (pid {writer.pid}) is running" in cleaned.stdout
        assert "younger than a writer still staging files" in cleaned.stdout
        assert _bucket(stack) >= before | killed
        writing = _uploads(stack)  # the running writer's upload was left alone
        assert len(writing) == 1 and f"-p{writer.pid}-" in writing[0], writing
        assert writer.poll() is None  # it was staging all along
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    left = _bucket(stack) - before  # the killed run's files, and any file the writer closed
    assert killed <= left and all("/data/extract-" in p for p, _ in left)
    assert _uploads(stack) == writing  # what the kill left; no listing shows it
    cleaned = run(_cli("clean"), env=_env(stack))
    assert cleaned.stdout.startswith(f"removed: {len(left)} staged file(s) of killed extracts ("), (
        cleaned.stdout
    )
    assert "; 1 unfinished upload(s) of killed extracts" in cleaned.stdout.splitlines()[0]
    assert _bucket(stack) == before and _uploads(stack) == []


def test_with_the_bucket_down_clean_removes_nothing_and_says_what_to_start(stack_settings) -> None:
    """No stack runs (`stack_settings`: ports where nothing listens): clean and doctor say in one
    line that the bucket cannot be listed and name `playground stack up`, never a traceback,
    and doctor does not send the learner to `playground clean`."""
    cleaned = run(_cli("clean"), env=_env(stack_settings))
    assert cleaned.returncode == 0 and "Traceback" not in cleaned.stderr, cleaned.stderr[-2000:]
    lines = cleaned.stdout.splitlines()
    assert lines[0] == "removed: none", cleaned.stdout
    assert lines[1].startswith("kept: every staged file: the warehouse s3://warehouse/ cannot be")
    assert lines[2] == "next: playground stack up"
    doctor = run(_cli("doctor"), env=_env(stack_settings))
    line = _leftovers_line(doctor.stdout)
    assert "cannot tell what killed runs left" in line and "next: playground stack up" in line
    assert "playground clean" not in line


def test_a_view_in_the_catalog_does_not_stop_clean(trino_stack) -> None:
    """A Trino view is a row of the JDBC catalog too (iceberg_type VIEW) whose metadata is a
    view's, not a table's: clean still decides, and the view still reads."""
    stack = trino_stack
    lakehouse.catalog(stack).create_namespace_if_not_exists(NS)
    trino.execute(f"create or replace view iceberg.{NS}.answer as select 42 as n", settings=stack)
    from playground.lakehouse import references
    from playground.services import postgres

    with postgres.connect(stack.catalog_db, stack) as conn:
        rows = conn.execute(
            "select iceberg_type, metadata_location from iceberg_tables "
            "where table_namespace = %s and table_name = 'answer'", (NS,)
        ).fetchall()  # fmt: skip
    assert len(rows) == 1 and rows[0][0] == "VIEW" and rows[0][1].startswith("s3://warehouse/")
    references.referenced(stack)  # raised Unprovable: the view's metadata is no table's
    _killed_at_commit(stack, f"{NS}.beside_a_view", 1_000)
    found = clean.find(stack)
    assert found.hint == "" and found.files, found.kept
    assert all(f"/{NS}/beside_a_view/data/extract-" in path for path, _ in found.files)
    clean.clean(stack, progress=lambda _line: None)
    assert trino.execute(f"select n from iceberg.{NS}.answer", settings=stack)[1] == [(42,)]
