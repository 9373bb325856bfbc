"""The compose stack's coordinator and worker files, run as two processes: queries run on the
worker (the coordinator does not schedule work on itself), proving the scaled-out configuration."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from playground.engines import trino
from playground.services import processes
from playground.stack import trino_server
from tests.helpers import free_port

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def _active_nodes(settings, expected: list, timeout: float = 60) -> list:
    """The active nodes, once they are `expected` or after `timeout` s: on two busy cores the
    coordinator can mark the worker inactive for a missed heartbeat until it announces again."""
    deadline = time.monotonic() + timeout
    while True:
        _, nodes = trino.execute(
            "select node_id, coordinator from system.runtime.nodes where state = 'active'",
            settings=settings,
        )  # fmt: skip
        if sorted(nodes) == expected or time.monotonic() > deadline:
            return sorted(nodes)
        time.sleep(1)


def test_a_query_runs_on_the_worker(trino_stack, tmp_path) -> None:
    from dataclasses import replace

    pg, s3 = (trino_stack.pg_host, trino_stack.pg_port), trino_stack.s3_endpoint
    rest = trino_stack.catalog_uri
    coordinator_port, worker_port = free_port(), free_port()
    # Both start at once (a worker keeps announcing itself until the coordinator answers):
    # on two cores that is about 15 s less than one after the other.
    with ThreadPoolExecutor(2) as pool:
        starting = [
            pool.submit(trino_server.start, trino_stack, tmp_path / "coordinator", coordinator_port,
                        pg, s3, rest, role="coordinator", progress=lambda _l: None),
            pool.submit(trino_server.start, trino_stack, tmp_path / "worker", worker_port, pg, s3,
                        rest, role="worker", coordinator_port=coordinator_port,
                        progress=lambda _l: None),
        ]  # fmt: skip
    servers = []
    for future in starting:
        try:
            servers.append(future.result())
        except trino_server.TrinoUnavailable:
            pass  # raised below, once the other one is stopped too
    try:
        assert len(servers) == 2, "a Trino did not start; see the server logs under tmp_path"
        settings = replace(trino_stack, trino_port=coordinator_port)
        trino.ready(settings)  # the coordinator schedules nothing on itself: a worker joined
        expected = [(f"coordinator-{coordinator_port}", True), (f"worker-{worker_port}", False)]
        assert _active_nodes(settings, expected) == expected
        trino.ready(settings)
        with trino.connect("tpch", "tiny", settings) as conn:
            cursor = conn.cursor()
            cursor.execute("select count(*) from lineitem")
            assert cursor.fetchone() == [60175]
            query_id = cursor.query_id
        # On two busy cores the worker can miss a heartbeat: the coordinator then schedules
        # nothing (NO_NODES_AVAILABLE) until it announces itself again
        trino.ready(settings)
        _, tasks = trino.execute(
            "select distinct node_id from system.runtime.tasks where query_id = ?",
            [query_id], settings=settings,
        )  # fmt: skip
        assert tasks == [(f"worker-{worker_port}",)]
    finally:
        for server in servers:
            processes.stop(server.pid)
