"""Closed to the network and to other users, each test written as the attack it stops.

The local stack's tests use the real servers `playground stack up` starts (the `trino_stack`
fixture); the others start the embedded PostgreSQL in a data directory of their own.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote, urlsplit

import duckdb
import psutil
import psycopg
import pytest

from playground.config import secrets
from playground.config.files import private_dir_mode
from playground.config.settings import get_settings
from playground.services import postgres, processes
from playground.stack import control, rest_catalog
from tests.helpers import BIN, LOOPBACK, free_port, listening, run, settings_env

# a shell command run by PostgreSQL, asked for through Trino's postgresql catalog
ATTACK = "CALL postgresql.system.execute(query => 'copy (select 1) to program ''id''')"


def _outside_address() -> str | None:
    """An address of this machine that is not loopback (what another host on the Wi-Fi sees)."""
    addresses = {
        a.address
        for entries in psutil.net_if_addrs().values()
        for a in entries
        if a.family == socket.AF_INET and not a.address.startswith("127.")
    }
    return min(addresses) if addresses else None


def test_the_embedded_server_listens_on_loopback_and_a_private_socket(fresh_data_dir) -> None:
    postgres.start()
    server = postgres.running(get_settings())
    found = listening({server.pid})
    assert found and {address for _, address, _ in found} <= LOOPBACK, found
    for folder in (fresh_data_dir, server.socket_dir):
        assert stat.S_IMODE(folder.stat().st_mode) in (0o700, 0o711), folder  # 0711: root only


def test_nobody_can_log_in_over_tcp_without_a_password(fresh_data_dir) -> None:
    postgres.start()
    port = postgres.running(get_settings()).port
    for user in ("postgres", "playground", "nobody"):
        with pytest.raises(psycopg.OperationalError, match="password|does not exist"):
            psycopg.connect(host="127.0.0.1", port=port, user=user, password="", dbname="postgres",
                            connect_timeout=5)  # fmt: skip


def test_a_long_data_directory_keeps_its_socket_private(tmp_path, monkeypatch) -> None:
    data = tmp_path / ("x" * 110) / "data"
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(data))
    try:
        postgres.start()
        server = postgres.running(get_settings())
        assert server.socket_dir.parent == Path("/tmp") and server.socket_dir != data / "pgdata"
        assert stat.S_IMODE(server.socket_dir.stat().st_mode) == 0o700
        with postgres.connect() as conn:
            assert conn.execute("select 1").fetchone() == (1,)
        if os.geteuid() == 0:  # another local user tries the socket (only root can switch user)
            psql = str(postgres.psql_path())
            tried = subprocess.run(
                ["runuser", "-u", "nobody", "--", psql, "-h", str(server.socket_dir), "-p",
                 str(server.port), "-U", "postgres", "-c", "select 1"],
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
            assert tried.returncode != 0 and "Permission denied" in tried.stderr, tried.stderr
    finally:
        postgres.stop(get_settings())
    assert not server.socket_dir.exists()  # removed at stop


def test_secrets_are_generated_per_data_directory_and_private(tmp_path, monkeypatch) -> None:
    made = []
    for name in ("one", "two"):
        monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path / name))
        made.append(get_settings())
        file = secrets.path(made[-1].data_dir)
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert stat.S_IMODE(made[-1].data_dir.stat().st_mode) in (0o700, 0o711)
    for field in secrets.GENERATED:
        first, second = (getattr(s, field) for s in made)
        assert len(first) >= 24 and first != second, field
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path / "one"))
    assert get_settings() == made[0]  # generated once, then kept
    key = made[0].superset_secret_key
    monkeypatch.setenv("PLAYGROUND_SUPERSET_SECRET_KEY", "from-the-environment")
    assert get_settings().superset_secret_key == "from-the-environment"
    doctor = run([str(BIN / "playground"), "doctor"], timeout=120)
    for field in secrets.GENERATED:
        assert getattr(made[0], field) not in doctor.stdout + doctor.stderr, field
    assert key not in doctor.stdout + doctor.stderr


def test_secrets_command_fills_env_without_showing_them(tmp_path) -> None:
    example = tmp_path / ".env.example"
    example.write_text("# keys\nPLAYGROUND_PG_PASSWORD=\nPLAYGROUND_SUPERSET_SECRET_KEY=kept\n")
    env_file = tmp_path / ".env"
    values = {field: f"value-of-{field}" for field in secrets.GENERATED}
    written = secrets.write_env(env_file, values, example)
    assert "PLAYGROUND_SUPERSET_SECRET_KEY" not in written and "PLAYGROUND_PG_PASSWORD" in written
    text = env_file.read_text()
    assert "PLAYGROUND_PG_PASSWORD=value-of-pg_password\n" in text
    assert "PLAYGROUND_SUPERSET_SECRET_KEY=kept\n" in text and text.startswith("# keys\n")
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert secrets.write_env(env_file, values, example) == []  # a second run changes nothing


def test_compose_refuses_to_start_without_the_keys() -> None:
    compose = (Path(__file__).resolve().parent.parent / "docker-compose.yml").read_text()
    for field in secrets.GENERATED:
        variable = secrets.variable(field)
        assert f"${{{variable}:?run make secrets" in compose, variable
        assert f"${{{variable}:-" not in compose, variable


# --- a whole run in a data directory with an awkward name: nothing outside, nothing shared ------

PIPELINE_CHECK = """
import json
from playground import lakehouse
from playground.config.settings import get_settings
from playground.engines import duck
from playground.orchestration import instance, pipeline
from playground.services import postgres

settings = get_settings()
with duck.connect(settings.duckdb_path, settings=settings) as con:  # the DuckDB warehouse file
    lakehouse.register_duckdb_view(con, "lake_test.rental")
    lake = con.execute("select count(*) from rental").fetchone()[0]
    con.execute("create or replace table rentals as select * from rental")
with postgres.connect("pagila", settings) as conn:
    source = conn.execute("select count(*) from public.rental").fetchone()[0]
with instance.instance(settings) as dagster:  # Dagster's run and event databases, on disk
    stages = pipeline.materialize_pagila(
        settings, dagster, progress=lambda _line: None,
        selection='key:"pagila/language" or key:"pagila/film" or key:"pagila/actor"')
print(json.dumps({"lake": lake, "source": source, "rows": stages.rows}))
"""


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _shared(data: Path) -> list[str]:
    """Every file or folder under `data` that a user other than its owner could read or enter."""
    found = []
    for path in [data, *data.rglob("*")]:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            continue
        allowed = private_dir_mode() if path == data else 0o700
        if stat.S_IMODE(info.st_mode) & ~allowed & 0o077:
            found.append(f"{stat.S_IMODE(info.st_mode):o} {path.relative_to(data)}")
    return found


@pytest.mark.slow  # a seed, an extract and the whole pipeline, as tests/orchestration/ marks them
def test_a_whole_run_stays_inside_its_data_directory_and_private(tmp_path) -> None:
    parent, home, temporary = tmp_path / "parent", tmp_path / "home", tmp_path / "tmp"
    for folder in (parent, home, temporary):
        folder.mkdir()
    data = parent / "My Data #1 é"
    env = {**os.environ, "PLAYGROUND_DATA_DIR": str(data), "HOME": str(home),
           "TMPDIR": str(temporary)}  # fmt: skip
    env.pop("DAGSTER_HOME", None)  # a learner's shell has none: the data directory's is used

    def playground(*args: str) -> subprocess.CompletedProcess:
        # a learner's usual umask (this test process's own has been narrowed by its settings)
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600,
                              preexec_fn=lambda: os.umask(0o022), check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    try:
        playground(str(BIN / "playground"), "seed", "--scale", "0.02")
        playground(str(BIN / "playground"), "extract", "--table", "public.rental",
                   "--to", "lake_test.rental", "--partition-by", "rental_date:month")  # fmt: skip
        checked = playground(sys.executable, "-c", PIPELINE_CHECK)
    finally:
        playground(str(BIN / "playground"), "services", "stop")
    counts = json.loads(checked.stdout.splitlines()[-1])
    assert counts["lake"] == counts["source"] > 0
    assert counts["rows"]["actor"] > 0 and counts["rows"]["film"] > 0
    assert [p.name for p in parent.iterdir()] == [data.name]  # no sibling folder
    assert _listing(home) == [] and _listing(temporary) == []
    parquet = next((data / "warehouse" / "lake_test" / "rental").rglob("*.parquet"))
    written = {p.name for p in data.iterdir()}
    assert {"catalog.db", "playground.duckdb", "dagster", "pgdata"} <= written, written
    assert _shared(data) == []
    if os.geteuid() == 0:  # another local user tries to read the lakehouse and the catalog
        for target in (parquet, data / "catalog.db", data / "secrets.env"):
            tried = subprocess.run(["runuser", "-u", "nobody", "--", "cat", str(target)],
                                   capture_output=True, text=True, check=False)  # fmt: skip
            assert tried.returncode != 0 and "Permission denied" in tried.stderr, target


# --- secrets never in an error, a log or an event --------------------------------------------


def _failures_of_a_stack_run(settings) -> list[str]:
    """The error messages DuckDB, psycopg and the library give for the stack's PostgreSQL at
    an address where nothing answers, with this install's real password."""
    from playground.engines import duck

    messages = []
    with duck.connect(settings=settings) as con:
        for dsn in (postgres.libpq_dsn("pagila", settings), postgres.url("pagila", settings)):
            try:
                con.execute(f"ATTACH {duck.literal(dsn)} AS pg (TYPE postgres, READ_ONLY)")
            except duckdb.Error as exc:  # DuckDB's own message, as a lesson's cell would show it
                messages.append(str(exc))
        with pytest.raises(duckdb.Error) as attached:
            duck.attach_postgres(con, postgres.libpq_dsn("pagila", settings), "pg", settings)
        messages.append(str(attached.value))
    with pytest.raises(psycopg.OperationalError) as direct:
        psycopg.connect(postgres.url("pagila", settings), connect_timeout=5)
    with pytest.raises(postgres.ServiceUnavailable) as service:
        postgres.connect("pagila", settings)
    return [*messages, str(direct.value), str(service.value)]


def test_a_failing_stack_run_shows_no_secret(fresh_data_dir, monkeypatch) -> None:
    import dagster as dg

    from playground.orchestration import instance, pipeline

    for name, value in (("MODE", "stack"), ("PG_HOST", "127.0.0.1"), ("PG_PORT", free_port())):
        monkeypatch.setenv(f"PLAYGROUND_{name}", str(value))
    settings = get_settings()
    hidden = [settings.pg_password, quote(settings.pg_password, safe="")]
    hidden += [getattr(settings, field) for field in secrets.GENERATED]
    messages = _failures_of_a_stack_run(settings)
    assert len(messages) == 5 and all("refused" in m or "failed" in m for m in messages), messages
    extract = run([str(BIN / "playground"), "extract", "--table", "public.actor", "--to",
                   "leak_test.actor"], env=settings_env(settings))  # fmt: skip
    assert extract.returncode == 2, extract.stderr
    messages += [extract.stdout, extract.stderr]
    with instance.instance(settings) as dagster:
        with pytest.raises(pipeline.PipelineError) as failed:
            pipeline.materialize_pagila(settings, dagster, selection='key:"pagila/actor"',
                                        progress=messages.append)  # fmt: skip
        messages.append(str(failed.value))
        runs = dagster.get_run_records()
        ids = [record.dagster_run.run_id for record in runs]
        events = [dg.serialize_value(event) for i in ids for event in dagster.all_logs(i)]
    assert any("DagsterExecutionStepFailure" in e or "STEP_FAILURE" in e for e in events)
    written = [p for p in settings.data_dir.rglob("*") if p.is_file()
               and p != secrets.path(settings.data_dir) and p.parent.name != "pgpass"]  # fmt: skip
    logs = [p.read_bytes().decode("utf-8", "replace") for p in written]
    for text in [*messages, *events, *logs]:
        for secret in hidden:
            assert secret not in text, text[:2000]


# --- the local stack, for real -------------------------------------------------------------


def _stack_pids(stack) -> set[int]:
    pids = {processes.running(control._state(stack, s))["pid"] for s in control.SERVICES}
    server = postgres.running(replace(stack, mode="embedded"))
    return pids | {server.pid}


def test_stack_servers_listen_on_loopback_only(trino_stack) -> None:
    if not control.recorded(trino_stack):
        pytest.skip("the compose stack answers here: its ports are Docker's to publish")
    found = listening(_stack_pids(trino_stack))
    catalog = urlsplit(trino_stack.catalog_uri).port
    assert {port for _, _, port in found} >= {trino_stack.trino_port, trino_stack.pg_port, catalog}
    outside = [entry for entry in found if entry[1] not in LOOPBACK]
    assert outside == [], outside


def test_trino_cannot_be_reached_from_another_host(trino_stack) -> None:
    address = _outside_address()
    if address is None:
        pytest.skip("this machine has no address besides loopback")
    import trino

    conn = trino.dbapi.connect(host=address, port=trino_stack.trino_port, user="anybody",
                               request_timeout=5)  # fmt: skip
    with pytest.raises(Exception, match="(?i)refused|connect"):
        conn.cursor().execute(ATTACK)
    # nor the REST catalog, which has no accounts: it listens on loopback only
    outside = f"http://{address}:{urlsplit(trino_stack.catalog_uri).port}"
    with pytest.raises(OSError, match="(?i)refused"):
        rest_catalog.config(outside, timeout=5)


def test_the_stack_postgres_wants_its_password_and_is_no_superuser(trino_stack) -> None:
    host, port = "127.0.0.1", trino_stack.pg_port
    for user, password in (("postgres", ""), ("playground", "wrong"), ("postgres", "postgres")):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(host=host, port=port, user=user, password=password,
                            dbname="postgres", connect_timeout=5)  # fmt: skip
    login = {"user": trino_stack.pg_user, "password": trino_stack.pg_password}
    with psycopg.connect(host=host, port=port, dbname=trino_stack.pagila_db, **login) as conn:
        assert conn.execute(
            "select rolsuper from pg_roles where rolname = current_user"
        ).fetchone() == (False,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("copy (select 1) to program 'id'")


def test_trino_cannot_run_programs_through_postgres(trino_stack) -> None:
    from playground.engines import trino

    with pytest.raises(
        Exception, match="(?i)permission denied|superuser|pg_execute_server_program"
    ):
        trino.execute(ATTACK, settings=trino_stack)


def test_doctor_names_each_guarantee_and_an_old_shared_key(fresh_data_dir, monkeypatch) -> None:
    from playground.cli import doctor, doctor_security

    postgres.start()
    lines = {c.component: c for c in doctor.checks(get_settings())}
    for name in ("private: data dir", "private: secrets", "private: postgres"):
        assert lines[name].ok, lines[name]
    old = doctor_security.SHARED_BEFORE["superset_secret_key"]
    monkeypatch.setenv("PLAYGROUND_SUPERSET_SECRET_KEY", old)  # a .env copied long ago
    check = {c.component: c for c in doctor.checks(get_settings())}["private: secrets"]
    assert not check.ok and "PLAYGROUND_SUPERSET_SECRET_KEY" in check.detail
    assert old not in check.detail + check.hint
