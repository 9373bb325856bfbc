"""Lesson 07's plumbing: names are checked, files are counted where they are, and the lesson runs
twice in one data directory, in two time zones, with the same figures PostgreSQL agrees with."""

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyarrow import fs

from playground import lakehouse
from playground.config.settings import get_settings
from playground.lessons import ducklake
from playground.orchestration.promote import lessons_dir
from playground.services import postgres
from tests.helpers import ROOT, run

PLAIN = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@pytest.mark.parametrize(
    "name",
    ["pay ment", "payment; drop table x", 'pay"ment', "Payment", "péage", "", "1st", "a" * 64],
)
def test_an_odd_table_name_is_refused(name) -> None:
    with pytest.raises(ValueError, match="not a plain table name"):
        ducklake.check_name(name)


@given(st.text(max_size=70))
def test_only_plain_names_pass(name) -> None:
    if PLAIN.fullmatch(name):
        assert ducklake.check_name(name) == name
    else:
        with pytest.raises(ValueError, match="lower-case letters"):
            ducklake.check_name(name)


def test_the_iceberg_name_is_checked_too(tmp_path) -> None:
    setup = ducklake.Setup(None, "", "", tmp_path)  # only the namespace is read
    assert ducklake.iceberg_table(setup, "payment") == "lesson07.payment"
    with pytest.raises(ValueError):
        ducklake.iceberg_table(setup, "payment.x")


def test_files_are_counted_under_an_odd_folder(tmp_path) -> None:
    folder = tmp_path / "My Data #1 é"
    (folder / "a" / "b").mkdir(parents=True)
    for name in ("one.parquet", "a/two.json", "a/b/three"):
        (folder / name).write_text("x")
    assert ducklake.files(folder) == 3
    assert ducklake.files(folder.as_uri()) == 3  # the file:// form, percent-encoded


FIGURES = ("first load:", "one row:", "flush:", "April and May against PostgreSQL:", "cleaned:")


def _figures(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith(FIGURES)]


@pytest.fixture
def own_data_dir(monkeypatch) -> Iterator[Path]:
    """A data directory outside pytest's temporary root: a pytest session started meanwhile
    (another checkout's) makes that root 0700 again, which, as root, locks out the embedded
    server's own `pgserver` user halfway through a long test. Its server is stopped after."""
    data = Path(tempfile.mkdtemp(prefix="lesson07 ")) / "My Data #1 é"
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(data))
    yield data
    if (data / "pgdata").is_dir():
        postgres.stop(get_settings())
    shutil.rmtree(data.parent, ignore_errors=True)


@pytest.mark.notebook
@pytest.mark.slow
def test_the_lesson_twice_in_one_data_directory_far_from_utc_and_at_utc(own_data_dir) -> None:
    lesson = str(lessons_dir() / "07_iceberg_and_ducklake.py")
    first = run([sys.executable, lesson], env={"TZ": "Pacific/Kiritimati"}, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    second = run([sys.executable, lesson], env={"TZ": "UTC"}, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert len(_figures(first.stdout)) == 5, first.stdout[-2000:]
    assert _figures(first.stdout) == _figures(second.stdout)
    with postgres.connect("pagila") as conn:  # the two months, counted by PostgreSQL in UTC
        (rows,) = conn.execute(
            "select count(*) from payment where payment_date >= '2022-04-01 00:00:00+00' "
            "and payment_date < '2022-06-01 00:00:00+00'"
        ).fetchone()
    assert rows > 0
    assert f"first load: {{'DuckLake': {rows}, 'Iceberg': {rows}}}" in first.stdout
    assert "one row: ducklake files 0, iceberg files 4" in first.stdout  # inlined; Iceberg's 4
    assert "flush: ducklake files 1" in first.stdout
    equal = "{'DuckLake': 'equal, row by row', 'Iceberg': 'equal, row by row'}"
    equal = f"April and May against PostgreSQL: {equal}"
    assert equal in first.stdout.splitlines()
    # after the month replaced, PyIceberg reads the two months and the one row inserted
    assert lakehouse.read("lesson07.payment").num_rows == rows + 1
    with postgres.connect(ducklake.CATALOG_DB) as conn:  # DuckLake's catalog is in PostgreSQL
        (tables,) = conn.execute(
            "select count(*) from pg_tables where tablename like 'ducklake%'"
        ).fetchone()
    assert tables > 10
    _files_are_private_and_inside(own_data_dir / "lesson07" / "ducklake")


def _files_are_private_and_inside(folder: Path) -> None:
    parquet = list(folder.rglob("*.parquet"))
    assert parquet, f"no DuckLake file under {folder}"
    for path in parquet:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.stack
def test_on_the_stack_the_lesson_runs_twice_with_the_stacks_postgresql_bucket_and_catalog(
    trino_stack, own_data_dir
) -> None:
    """Stack mode, a data directory of the lesson's own: DuckLake's catalog in the stack's
    PostgreSQL and its files in the stack's bucket, Iceberg through the REST catalog, which
    Trino reads. A first run killed (-9) halfway, then two runs in a row (a learner running
    it again), far from UTC and at UTC."""
    from playground.engines import trino
    from playground.lakehouse.objectstore import filesystem
    from tests.helpers import settings_env
    from tests.lessons.test_lessons import share_trino_login

    lesson = str(lessons_dir() / "07_iceberg_and_ducklake.py")
    env = {**settings_env(trino_stack), "PLAYGROUND_DATA_DIR": str(own_data_dir)}
    _killed_after_the_one_row_insert(lesson, env)
    first = run([sys.executable, lesson], env={**env, "TZ": "Pacific/Kiritimati"}, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    second = run([sys.executable, lesson], env={**env, "TZ": "UTC"}, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    with postgres.connect("pagila", trino_stack) as conn:  # the stack's, counted in UTC
        (rows,) = conn.execute(
            "select count(*) from payment where payment_date >= '2022-04-01 00:00:00+00' "
            "and payment_date < '2022-06-01 00:00:00+00'"
        ).fetchone()
    assert rows > 0
    equal = "{'DuckLake': 'equal, row by row', 'Iceberg': 'equal, row by row'}"
    for done in (first, second):
        lines = done.stdout.splitlines()
        assert f"first load: {{'DuckLake': {rows}, 'Iceberg': {rows}}}" in lines, lines[-20:]
        assert f"April and May against PostgreSQL: {equal}" in lines, lines[-20:]
        assert trino_stack.pg_password not in done.stdout + done.stderr
        assert trino_stack.s3_secret_key not in done.stdout + done.stderr
    print("\n".join(_figures(first.stdout)))  # the figures measured on the stack (pytest -rP)
    assert len(_figures(first.stdout)) == 5, first.stdout[-2000:]
    assert _figures(first.stdout) == _figures(second.stdout)
    # the stack's REST catalog holds the Iceberg table: PyIceberg and Trino read the two
    # months and the one row inserted
    assert lakehouse.read("lesson07.payment", settings=trino_stack).num_rows == rows + 1
    share_trino_login(trino_stack)
    _, counted = trino.execute("select count(*) from lesson07.payment", settings=trino_stack)
    assert counted == [(rows + 1,)]
    with postgres.connect(ducklake.CATALOG_DB, trino_stack) as conn:  # the stack's PostgreSQL
        (tables,) = conn.execute(
            "select count(*) from pg_tables where tablename like 'ducklake%'"
        ).fetchone()
    assert tables > 10
    bucket, prefix = filesystem(trino_stack, f"s3://{trino_stack.s3_bucket}/lesson07/ducklake")
    listed = bucket.get_file_info(fs.FileSelector(prefix, recursive=True))
    assert [f.path for f in listed if f.path.endswith(".parquet")], "no DuckLake file in S3"
    assert not (own_data_dir / "lesson07").exists()  # nothing of the lake on the laptop


def _killed_after_the_one_row_insert(lesson: str, env: dict[str, str]) -> None:
    """Run the lesson and kill it (-9, by its PID) once it has printed the one-row insert: its
    catalog database, files in the bucket and Iceberg table are left half done."""
    env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    killed = subprocess.Popen([sys.executable, lesson], cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        said = next((line for line in killed.stdout if line.startswith("one row:")), None)
        assert killed.poll() is None, "the lesson ended before it could be killed"
    finally:
        killed.kill()
        killed.wait()
    assert said, "the lesson ended without its one-row insert"
    assert killed.returncode == -signal.SIGKILL
