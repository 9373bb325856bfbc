"""The embedded PostgreSQL: shared across processes, stopped only on request (real servers)."""

import sys
from dataclasses import replace

import pytest

from playground import postgres
from tests.helpers import run

pytestmark = pytest.mark.slow

PROBE = """
from playground import postgres
with postgres.connect() as conn:
    row = conn.execute("select pg_backend_pid() > 0, current_setting('server_version_num')")
    print(row.fetchone())
print(postgres.start().detail)
"""


def test_start_reuse_stop_across_processes(fresh_data_dir) -> None:
    env = {"PLAYGROUND_DATA_DIR": str(fresh_data_dir)}
    first = run([sys.executable, "-c", PROBE], env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "(True, '16" in first.stdout
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


def test_stack_url_quotes_credentials(stack_settings) -> None:
    odd = replace(stack_settings, pg_password="p@ss/word")
    assert "p%40ss%2Fword@" in postgres.url("pagila", odd)
