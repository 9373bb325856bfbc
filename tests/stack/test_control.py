"""`playground stack up|down|status`: the stack's services as local processes, without Docker."""

from dataclasses import replace

import psutil
import pyarrow as pa
import pytest

from playground import lakehouse
from playground.cli import doctor
from playground.engines import duck, trino
from playground.services.net import port_free
from playground.stack import control
from tests.helpers import exited, free_port, run


def test_a_taken_port_is_named_with_the_setting_to_change(stack_settings, tmp_path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = replace(stack_settings, data_dir=tmp_path, pg_host="127.0.0.1",
                           pg_port=taken.getsockname()[1])  # fmt: skip
        with pytest.raises(control.StackError, match="PLAYGROUND_PG_PORT"):
            control.up(settings, progress=lambda _l: None)
    assert control.recorded(settings) == []  # nothing was started


def test_a_remote_host_is_refused(stack_settings, tmp_path) -> None:
    with pytest.raises(control.StackError, match="'db.example.com'"):
        control.up(replace(stack_settings, data_dir=tmp_path, pg_host="db.example.com"))


def test_status_without_a_stack_says_not_running(tmp_path) -> None:
    env = {"PLAYGROUND_PG_PORT": str(free_port()), "PLAYGROUND_TRINO_PORT": str(free_port()),
           "PLAYGROUND_S3_ENDPOINT": f"http://127.0.0.1:{free_port()}",
           "PLAYGROUND_DATA_DIR": str(tmp_path)}  # fmt: skip
    done = run([".venv/bin/playground", "stack", "status"], env=env)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert [line.split()[1] for line in lines] == ["postgres", "s3", "catalog", "trino"]
    assert all(line.endswith("not running") for line in lines)


def test_down_stops_the_server_up_started_unless_someone_uses_it(
    stack_settings, fresh_data_dir
) -> None:
    """The embedded PostgreSQL `up` started (it leaves a mark) ends with `down`, once no other
    client is connected; one that ran before `up` is embedded mode's and keeps running."""
    import psycopg

    from playground.services import postgres

    stack = replace(stack_settings, data_dir=fresh_data_dir)
    embedded = replace(stack, mode="embedded")
    said: list[str] = []
    postgres.start(embedded, progress=lambda _l: None)
    control.down(stack, progress=said.append)  # no mark: started before any `up`
    assert postgres.running(embedded) is not None and said == []

    mark = control._started_server(stack)  # what `up` leaves when it starts the server
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.touch()
    pid = postgres.running(embedded).pid
    with psycopg.connect(postgres.libpq_dsn(settings=embedded)) as learner:
        learner.execute("select 1")
        control.down(stack, progress=said.append)
        assert psutil.pid_exists(pid) and mark.exists()
        assert said == ["the embedded PostgreSQL keeps running: 1 other connection(s) use it "
                        "(`playground services stop` stops it)"]  # fmt: skip
    control.down(stack, progress=said.append)
    assert said[-1] == f"stopped embedded PostgreSQL pid {pid}"
    assert postgres.running(embedded) is None and exited(pid)
    assert not mark.exists()


@pytest.mark.stack
@pytest.mark.slow
def test_down_stops_every_process_and_up_brings_the_data_back(trino_stack) -> None:
    if not control.recorded(trino_stack):
        pytest.skip("the suite uses a compose stack here, which `playground stack` does not manage")
    checks = {c.component: c for c in doctor.checks(trino_stack)}
    assert all(c.ok for c in checks.values() if c.required), [
        c.line() for c in checks.values() if c.required and not c.ok
    ]
    assert checks["mode"].detail == "stack (local processes: postgres, s3, catalog, trino)"
    assert checks["stack: catalog"].detail.startswith("Iceberg REST catalog at http://127.0.0.1:")
    assert checks["stack: trino"].detail.startswith("Trino 476 at 127.0.0.1:")
    elsewhere = replace(trino_stack, trino_port=free_port())  # settings of another stack
    assert control.recorded(elsewhere) == ["postgres", "s3", "catalog"]

    cat = lakehouse.catalog(trino_stack)
    cat.create_namespace_if_not_exists("stack_local")
    rows = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]})
    table = cat.create_table("stack_local.kept", schema=rows.schema)
    table.append(rows)
    query = 'select count(*), sum(id) from iceberg."stack_local"."kept"'
    assert trino.execute(query, settings=trino_stack)[1] == [(3, 6)]
    with duck.connect(settings=trino_stack) as con:  # a table DuckDB wrote through the catalog
        duck.attach_lakehouse(con, trino_stack)
        con.execute("create table lake.stack_local.by_duckdb as select range as id from range(5)")
    by_duckdb = 'select count(*), sum(id) from iceberg."stack_local"."by_duckdb"'

    pids = {s: control._running(trino_stack, s)["pid"] for s in control.SERVICES}
    control.down(trino_stack, progress=lambda _l: None)
    assert not [pid for pid in pids.values() if not exited(pid)]
    assert all(port_free(port) for _, port in control.ports(trino_stack).values())
    assert [line.ok for line in control.status(trino_stack)] == [False] * 4

    lines = control.up(trino_stack, progress=lambda _l: None)
    assert [line.ok for line in lines] == [True] * 4
    assert trino.execute(query, settings=trino_stack)[1] == [(3, 6)]
    assert trino.execute(by_duckdb, settings=trino_stack)[1] == [(5, 10)]
    again = lakehouse.catalog(trino_stack).load_table("stack_local.kept").scan().to_arrow()
    assert again.sort_by("id").to_pylist() == rows.to_pylist()
    lakehouse.catalog(trino_stack).purge_table("stack_local.kept")
    lakehouse.catalog(trino_stack).purge_table("stack_local.by_duckdb")


@pytest.mark.stack
@pytest.mark.slow
def test_services_stop_and_start_leave_the_forwarder_working(trino_stack) -> None:
    """`stack status` says `playground services start` when the server is stopped; after it the
    server has another port (the old one is held here), and the stack's port still reaches it."""
    import socket

    import psycopg

    from playground.services import postgres

    if not control.recorded(trino_stack):
        pytest.skip("the suite uses a compose stack here, which `playground stack` does not manage")
    embedded = replace(trino_stack, mode="embedded")
    lakehouse.catalog(trino_stack).create_namespace_if_not_exists("stack_restarted")
    old = postgres.running(embedded).port
    postgres.stop(embedded)
    line = {line.service: line for line in control.status(trino_stack)}["postgres"]
    assert not line.ok and line.detail.endswith("`playground services start`")
    with socket.socket() as holder:  # the old port is taken: the server must move
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past its TIME_WAIT
        holder.bind(("127.0.0.1", old))
        holder.listen()
        postgres.start(embedded, progress=lambda _l: None)
    assert postgres.running(embedded).port != old
    assert [line.ok for line in control.status(trino_stack)] == [True] * 4
    login = {"user": trino_stack.pg_user, "password": trino_stack.pg_password}
    with psycopg.connect(host="127.0.0.1", port=trino_stack.pg_port, dbname=trino_stack.pagila_db,
                         connect_timeout=5, **login) as conn:  # fmt: skip
        (customers,) = conn.execute("select count(*) from customer").fetchone()
    assert customers > 0
    query = "select count(*) from postgresql.public.customer"
    assert trino.execute(query, settings=trino_stack)[1] == [(customers,)]
    # the REST catalog's pooled connections to the old server are gone: each is replaced once
    for _ in range(4):
        assert ("stack_restarted",) in lakehouse.catalog(trino_stack).list_namespaces()
    found = {c.component: c for c in doctor.checks(trino_stack)}["iceberg catalog"]
    assert found.ok, found.line()
    lakehouse.catalog(trino_stack).drop_namespace("stack_restarted")


@pytest.mark.stack
@pytest.mark.slow
def test_a_truncated_record_is_recovered_by_stack_up(trino_stack) -> None:
    """A record cut short (a kill or a full disk while it was written) used to orphan the REST
    catalog's processes, and the next `up` refused the port they held."""
    import json

    if not control.recorded(trino_stack):
        pytest.skip("the suite uses a compose stack here, which `playground stack` does not manage")
    record = control._state(trino_stack, "catalog")
    orphan = json.loads(record.read_text())["pid"]
    family = [psutil.Process(orphan), *psutil.Process(orphan).children(recursive=True)]
    record.write_text('{"pid": ')
    said: list[str] = []
    lines = control.up(trino_stack, progress=said.append)
    assert [line.ok for line in lines] == [True] * 4
    _, alive = psutil.wait_procs(family, timeout=15)
    assert alive == []
    assert f"stopped catalog (pid {orphan}), which ran without its record" in said
    assert json.loads(record.read_text())["pid"] != orphan
    cat = lakehouse.catalog(trino_stack)
    cat.create_namespace_if_not_exists("stack_recovered")
    assert ("stack_recovered",) in cat.list_namespaces()
    assert trino.execute("show schemas from iceberg like 'stack_recovered'",
                         settings=trino_stack)[1] == [("stack_recovered",)]  # fmt: skip
    cat.drop_namespace("stack_recovered")
