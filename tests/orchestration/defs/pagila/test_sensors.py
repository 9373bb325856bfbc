"""The pagila_changes sensor, on a data directory and PostgreSQL of each test's own (SF 0.05).

The last test runs it the way `make run` does: `dagster dev` (webserver and daemon), the sensor
turned on through the UI's GraphQL on a 2-second interval, Dagster's own run keys and run queue.
Three days of `playground changes` each land as a run, one of them after a failed run retried,
and after each the lakehouse equals PostgreSQL row by row, read from both directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from decimal import Decimal

import dagster as dg
import pytest

from playground.cli.run import dagster_dev
from playground.config.settings import get_settings, project_root
from playground.datasets.pagila import changes, keys, seed
from playground.lakehouse.tables import catalog
from playground.orchestration import instance as dagster_instance
from playground.orchestration.definitions import defs
from playground.orchestration.defs.pagila import sensors
from playground.orchestration.defs.pagila.schedules import all_months_tags
from playground.orchestration.resources import LakehouseResource, PostgresResource
from playground.services import postgres
from playground.services.net import wait_http
from tests.helpers import free_port

pytestmark = pytest.mark.slow
JOB = sensors.pagila_changes_job.name


def _tick(instance) -> dg.RunRequest | dg.SkipReason:
    resources = {"postgres": PostgresResource(), "lakehouse": LakehouseResource()}
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        return sensors.pagila_changes(context)


def _run(instance, request: dg.RunRequest) -> bool:
    job = defs.resolve_job_def(JOB)
    tags = {**request.tags, "dagster/run_key": request.run_key}
    result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False,
                                    asset_selection=request.asset_selection)  # fmt: skip
    return result.success


@contextlib.contextmanager
def _catalog_held():
    """Another process's write transaction on the SQLite catalog: commits wait, then fail."""
    held = sqlite3.connect(get_settings().data_dir / "catalog.db", timeout=0)
    held.execute("begin immediate")
    try:
        yield
    finally:
        held.rollback()
        held.close()


@pytest.fixture
def loaded(fresh_postgres):
    seed.seed(0.05, 7, progress=lambda _line: None)
    assets = [defs.resolve_assets_def(dg.AssetKey(["pagila", t])) for t in keys.TABLES]
    with dg.DagsterInstance.ephemeral() as instance:
        assert dg.materialize(assets, instance=instance, tags=all_months_tags()).success
        yield instance


AUGUST = """update payment set amount = amount + 1 where payment_id = (select min(payment_id)
  from payment where payment_date >= '2022-08-01+00');
update rental set last_update = last_update + interval '1 second' where rental_id = (select
  min(rental_id) from rental where rental_date >= '2022-08-01+00');
update customer set email = %s where customer_id = 1"""


def test_a_second_day_in_the_same_months_gets_a_run_of_its_own(loaded) -> None:
    assert isinstance(_tick(loaded), dg.SkipReason)  # nothing changed yet
    requested = []
    for day in (1, 2):  # the same tables and months each day, other values
        with postgres.connect("pagila") as conn:
            for statement, params in zip(
                AUGUST.split(";"), ((), (), ("x" * day + "@a.org",)), strict=True
            ):
                assert conn.execute(statement, params).rowcount == 1
        request = _tick(loaded)
        assert isinstance(request, dg.RunRequest)
        assert {k.path[-1] for k in request.asset_selection} == {"rental", "payment", "customer"}
        assert request.tags[sensors.ASSET_PARTITION_RANGE_START_TAG] == "2022-08-01"
        assert request.tags[sensors.ASSET_PARTITION_RANGE_END_TAG] == "2022-08-01"
        requested.append(request.run_key)
        assert _run(loaded, request)
        assert isinstance(_tick(loaded), dg.SkipReason), f"after day {day}"
    assert requested[0] != requested[1]  # else Dagster drops the second day's run


def test_a_failed_run_is_requested_again_and_the_retry_lands(loaded) -> None:
    with postgres.connect("pagila") as conn:
        changes.apply_day(conn, seed=3)
    first = _tick(loaded)
    with _catalog_held():
        assert not _run(loaded, first)  # the commit could not take the catalog
    again = _tick(loaded)
    assert isinstance(again, dg.RunRequest)
    assert again.run_key != first.run_key  # so Dagster will not drop it as a duplicate
    assert again.tags[sensors.STATE_TAG] == first.tags[sensors.STATE_TAG]  # the same state
    assert _run(loaded, again)
    assert isinstance(_tick(loaded), dg.SkipReason)


@pytest.mark.parametrize(
    ("table", "change"),
    [("customer", "add column note text default 'n'"), ("customer", "drop column email"),
     ("payment", "add column note text default 'n'"), ("payment", "drop column amount")],
)  # fmt: skip
def test_a_column_added_or_dropped_is_loaded(loaded, table, change) -> None:
    with postgres.connect("pagila") as conn:
        conn.execute(f"alter table {table} {change}")
    request = _tick(loaded)  # no exception
    assert isinstance(request, dg.RunRequest)
    assert [k.path[-1] for k in request.asset_selection] == [table]
    assert _run(loaded, request)
    assert isinstance(_tick(loaded), dg.SkipReason)
    _assert_equal_row_by_row([table])


def _normal(value, padded: bool):
    if isinstance(value, memoryview):
        return bytes(value)
    if padded and isinstance(value, str):
        return value.rstrip(" ")  # char(n): PostgreSQL pads, its text form does not
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)  # one zone object for equal instants
    return value


def _assert_equal_row_by_row(tables=keys.TABLES) -> None:
    """Every table's rows from PostgreSQL (psycopg) and from Iceberg (PyIceberg), as multisets."""
    cat = catalog()
    with postgres.connect("pagila") as conn:
        for table in tables:
            names = [r[0] for r in conn.execute(
                "select column_name, data_type from information_schema.columns where "
                "table_schema = 'public' and table_name = %s order by ordinal_position", (table,)
            ).fetchall()]  # fmt: skip
            padded = {r[0] for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = "
                "'public' and table_name = %s and data_type = 'character'", (table,)
            ).fetchall()}  # fmt: skip
            cursor = conn.execute(f"select * from public.{table}")  # noqa: S608 - pagila's names
            theirs = [tuple(_normal(v, n in padded) for n, v in zip(names, row, strict=True))
                      for row in cursor.fetchall()]  # fmt: skip
            lake = cat.load_table(f"pagila.{table}").scan().to_arrow()
            assert lake.column_names == names, table
            ours = [tuple(_normal(v, n in padded) for n, v in zip(names, row.values(), strict=True))
                    for row in lake.to_pylist()]  # fmt: skip
            assert len(ours) == len(theirs), table
            assert sorted(map(repr, ours)) == sorted(map(repr, theirs)), table


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
        return json.load(response)


WORKSPACE = """{ workspaceOrError { ... on Workspace { locationEntries { name
  locationOrLoadError { __typename ... on RepositoryLocation { repositories { name
  sensors { name } } } ... on PythonError { message } } } } } }"""
START_SENSOR = """mutation { startSensor(sensorSelector: {repositoryLocationName: "%s",
  repositoryName: "%s", sensorName: "pagila_changes"}) {
  __typename ... on Sensor { sensorState { status } } ... on PythonError { message } } }"""


def _start_sensor(port: int) -> dict:
    """Turn the sensor on as the UI's toggle does, once the code location has loaded."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        for entry in _graphql(port, WORKSPACE)["data"]["workspaceOrError"]["locationEntries"]:
            loaded = entry["locationOrLoadError"] or {}
            assert loaded.get("__typename") != "PythonError", loaded
            for repository in loaded.get("repositories", []):
                if {"name": "pagila_changes"} in repository["sensors"]:
                    query = START_SENSOR % (entry["name"], repository["name"])
                    return _graphql(port, query)["data"]["startSensor"]
        time.sleep(1)
    pytest.fail("the code location did not load within 180 s")


def _default_signals() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):  # see playground.cli.run: `&` ignores SIGINT
        signal.signal(signum, signal.SIG_DFL)


@contextlib.contextmanager
def _dagster_dev(log_path):
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(dagster_instance.dagster_home(get_settings())),
           sensors.INTERVAL_VARIABLE: "2"}  # fmt: skip
    command, env = dagster_dev(port, env)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=project_root(), env=env, stdout=log,
                                   stderr=subprocess.STDOUT, process_group=0,
                                   preexec_fn=_default_signals)  # fmt: skip
    try:
        assert wait_http(f"http://127.0.0.1:{port}/server_info", 180, process) is not None
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _runs(instance, **tags) -> list:
    return instance.get_runs(filters=dg.RunsFilter(job_name=JOB, tags=tags))


def _wait_for(instance, done, what: str, log_path, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = done(_runs(instance))
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"{what}: not within {timeout:.0f} s; dagster dev's log:\n"
                + log_path.read_text(errors="replace")[-3000:])  # fmt: skip


def _landed(count: int):
    """The newest run, once `count` runs succeeded and none is queued or running."""

    def done(runs):
        finished = all(r.status not in sensors.UNFINISHED for r in runs)
        succeeded = [r for r in runs if r.status == dg.DagsterRunStatus.SUCCESS]
        return runs[0] if finished and len(succeeded) == count else None

    return done


def _changes(day_seed: int) -> None:
    subprocess.run([str(project_root() / ".venv/bin/playground"), "changes", "--days", "1",
                    "--seed", str(day_seed)], check=True, env=os.environ)  # fmt: skip


def test_the_daemon_loads_every_day_and_retries_a_failed_run(fresh_postgres, tmp_path) -> None:
    seed.seed(0.05, 7, progress=lambda _line: None)
    log_path = tmp_path / "dagster-dev.log"
    with _dagster_dev(log_path) as port, dagster_instance.instance(get_settings()) as instance:
        answer = _start_sensor(port)
        assert answer["sensorState"]["status"] == "RUNNING", answer
        # the first tick finds no lakehouse tables: one run loads all 15
        _wait_for(instance, _landed(1), "the first load", log_path)
        _assert_equal_row_by_row()
        for day_seed in (1, 2, 3):
            if day_seed == 2:  # another process holds the catalog: the day's first run fails
                with _catalog_held():
                    _changes(day_seed)
                    failed = _wait_for(instance, lambda runs: next((
                        r for r in runs if r.status == dg.DagsterRunStatus.FAILURE), None),
                        "a failed run", log_path)  # fmt: skip
            else:
                _changes(day_seed)
            newest = _wait_for(instance, _landed(day_seed + 1), f"day {day_seed}", log_path)
            _assert_equal_row_by_row()
            if day_seed == 2:
                state = failed.tags[sensors.STATE_TAG]
                assert newest.tags[sensors.STATE_TAG] == state  # the same state, retried
                assert newest.tags["dagster/run_key"] != failed.tags["dagster/run_key"]
        runs = _runs(instance)
        assert len({r.tags["dagster/run_key"] for r in runs}) == len(runs)
        assert [r.status for r in runs].count(dg.DagsterRunStatus.SUCCESS) == 4
        assert all(r.tags.get("dagster/sensor_name") == "pagila_changes" for r in runs)
