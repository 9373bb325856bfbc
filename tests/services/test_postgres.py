"""The embedded PostgreSQL: shared across processes, stopped only on request (real servers)."""

import stat
import subprocess
import sys
from dataclasses import replace
from urllib.parse import unquote

import psycopg
import pytest
from psycopg import sql

from playground.engines import duck
from playground.services import postgres
from tests.helpers import run

pytestmark = pytest.mark.slow

PROBE = """
from playground.services import postgres
print(postgres.start().detail)
with postgres.connect() as conn:
    row = conn.execute("select pg_backend_pid() > 0, current_setting('server_version_num')")
    print(row.fetchone())
"""


def test_start_reuse_stop_across_processes(fresh_data_dir) -> None:
    env = {"PLAYGROUND_DATA_DIR": str(fresh_data_dir)}
    first = run([sys.executable, "-c", PROBE], env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "(True, '18" in first.stdout
    pid = postgres.status().detail.split("pid ")[1].split(",")[0]
    # The first process has exited: the server must still run, and a second process reuses it.
    assert postgres.status().running
    second = run([sys.executable, "-c", PROBE], env=env, timeout=120)
    assert second.returncode == 0, second.stderr
    assert f"pid {pid}," in second.stdout
    stopped = run([sys.executable, "-m", "playground.cli", "services", "stop"], env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert f"stopped embedded PostgreSQL pid {pid}" in stopped.stdout
    assert not postgres.status().running
    status = run([sys.executable, "-m", "playground.cli", "services", "status"], env=env)
    assert status.returncode == 1
    assert "not running" in status.stdout


def test_nothing_but_start_starts_the_server(fresh_data_dir) -> None:
    for call in (postgres.url, postgres.connect, postgres.libpq_dsn):
        with pytest.raises(postgres.ServiceUnavailable, match="not running.*services start"):
            call()
    assert not postgres.status().running
    assert postgres.start().running and postgres.url().startswith("postgresql://postgres@/")
    postgres.stop()


def test_url_and_ensure_database(settings) -> None:
    assert postgres.ensure_database("playground_test_db", settings) in (True, False)
    assert postgres.ensure_database("playground_test_db", settings) is False
    with postgres.connect("playground_test_db", settings) as conn:
        assert conn.execute("select current_database()").fetchone() == ("playground_test_db",)
    assert postgres.url("x", settings, driver="psycopg").startswith("postgresql+psycopg://")
    assert "dbname=x" in postgres.libpq_dsn("x", settings)


def test_stack_unreachable_names_service_and_fix(stack_settings) -> None:
    assert not postgres.status(stack_settings).running
    with pytest.raises(postgres.ServiceUnavailable, match="docker compose up --wait"):
        postgres.connect(settings=stack_settings)


@pytest.fixture
def odd_login(settings):
    """Stack-style settings for a role of the suite's server over 127.0.0.1, whose password
    holds every character a passfile or a URL must escape."""
    import uuid

    role = f"odd_{uuid.uuid4().hex[:8]}"
    password = "p@ss/wo:rd\\ #%é" + uuid.uuid4().hex
    with postgres.connect("postgres", settings, autocommit=True) as conn:
        conn.execute(sql.SQL("create role {} login password {}").format(
            sql.Identifier(role), sql.Literal(password)))  # fmt: skip
    port = postgres.running(settings).port
    yield replace(settings, mode="stack", pg_host="127.0.0.1", pg_port=port, pg_user=role,
                  pg_password=password)  # fmt: skip
    with postgres.connect("postgres", settings, autocommit=True) as conn:
        conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def test_stack_url_names_a_private_passfile_not_the_password(odd_login) -> None:
    url = postgres.url("postgres", odd_login)
    assert odd_login.pg_password not in unquote(url) and "passfile=" in url
    passfile = postgres.passfile(odd_login)
    assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
    assert passfile.is_relative_to(odd_login.data_dir)
    with psycopg.connect(url, connect_timeout=5) as conn:  # libpq reads the file
        assert conn.execute("select current_user").fetchone() == (odd_login.pg_user,)
    with duck.connect(settings=odd_login) as con:
        duck.attach_postgres(con, postgres.libpq_dsn("postgres", odd_login), "pg", odd_login)
        assert con.execute("select count(*) > 0 from pg.pg_catalog.pg_class").fetchone() == (True,)


def _stopped_server(data_dir) -> dict[str, str]:
    """Start and stop a server in `data_dir`; returns the env that points a CLI at it."""
    env = {"PLAYGROUND_DATA_DIR": str(data_dir)}
    assert postgres.start().running
    postgres.stop()
    return env


def _cli(args: list[str], env: dict[str, str]):
    return run([sys.executable, "-m", "playground.cli", *args], env=env, timeout=120)


def test_stale_pid_file_naming_a_live_unrelated_process(fresh_data_dir) -> None:
    env = _stopped_server(fresh_data_dir)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        pgdata = fresh_data_dir / "pgdata"
        lines = [str(bystander.pid), str(pgdata), "1700000000", "5432", str(pgdata), "", "0 0",
                 "ready"]  # fmt: skip
        (pgdata / "postmaster.pid").write_text("\n".join(lines) + "\n")
        status = _cli(["services", "status"], env)
        assert status.returncode == 1
        assert f"stale postmaster.pid (postmaster.pid names pid {bystander.pid} is" in status.stdout
        doctor = _cli(["doctor"], env)
        assert "FAIL postgres" in doctor.stdout and "stale postmaster.pid" in doctor.stdout
        stop = _cli(["services", "stop"], env)
        assert stop.returncode == 0, stop.stderr
        assert "nothing was signalled" in stop.stdout
        assert bystander.poll() is None  # the unrelated process is untouched
        start = _cli(["services", "start"], env)
        assert start.returncode == 0, start.stderr
        assert f"removed a stale {pgdata / 'postmaster.pid'}" in start.stdout
        assert "embedded PostgreSQL pid" in start.stdout
        with postgres.connect() as conn:
            assert conn.execute("select 1").fetchone() == (1,)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.parametrize("content", ["", "12345\n/some/dir\n"])
def test_truncated_pid_file_is_stale(fresh_data_dir, content) -> None:
    env = _stopped_server(fresh_data_dir)
    (fresh_data_dir / "pgdata" / "postmaster.pid").write_text(content)
    status = _cli(["services", "status"], env)
    assert status.returncode == 1, status.stderr
    assert "postmaster.pid is truncated" in status.stdout and "Traceback" not in status.stderr
    doctor = _cli(["doctor"], env)
    assert "Traceback" not in doctor.stderr and "postmaster.pid is truncated" in doctor.stdout
    start = _cli(["services", "start"], env)
    assert start.returncode == 0, start.stderr
    assert "removed a stale" in start.stdout and postgres.status().running


def test_postgres_16_data_is_upgraded_once(fresh_data_dir) -> None:
    from playground.services import pgserver

    pgdata = fresh_data_dir / "pgdata"
    fresh_data_dir.mkdir(exist_ok=True)
    with pgserver.start_lock(pgdata):
        pgserver.start(pgdata, version=16)  # data made by the PostgreSQL 16 of older releases
    with postgres.connect() as conn:
        conn.execute("create table kept as select 42 as answer")
    postgres.stop()
    assert (pgdata / "PG_VERSION").read_text().strip() == "16"
    lines: list[str] = []
    postgres.start(progress=lines.append)
    assert lines == [f"upgrading the embedded PostgreSQL data from 16 to 18 (once; the old files "
                     f"stay in {pgdata}.old until you delete them)"]  # fmt: skip
    with postgres.connect() as conn:
        assert conn.execute("select answer, current_setting('server_version_num')::int / 10000 "
                            "from kept").fetchone() == (42, 18)  # fmt: skip
    postgres.stop()
    lines.clear()
    postgres.start(progress=lines.append)
    assert lines == []  # once


def test_a_server_stopped_during_a_run_stays_stopped_and_the_run_says_so(fresh_data_dir) -> None:
    import dagster as dg

    from playground.orchestration.resources import PostgresResource

    resource = PostgresResource(database="postgres")
    with resource.connect() as conn:  # the run's first use starts the server
        assert conn.execute("select 1").fetchone() == (1,)
    postgres.stop()
    with pytest.raises(dg.Failure, match="not running .*`playground services start`"):
        resource.url()
    assert not postgres.status().running  # not started again behind the learner's back


def test_an_extract_whose_server_stopped_says_stopped(fresh_postgres) -> None:
    from playground.extract import source as extract_source

    url = postgres.url("postgres")
    with psycopg.connect(url) as conn:
        identity = extract_source.identity(conn)
    postgres.stop()
    explained = extract_source.read_failed(url, identity, OSError("connection lost"))
    assert "was stopped" in str(explained) and "replaced" not in str(explained)
