from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from playground.settings import Settings, get_settings


@pytest.fixture
def settings() -> Settings:
    """Settings of the suite's shared data directory (see the root conftest)."""
    return get_settings()


@pytest.fixture
def fresh_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data directory of the test's own (its catalog is empty)."""
    data = tmp_path / "data"
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(data))
    yield data
    from playground import postgres

    if (data / "pgdata").is_dir():  # a test that started a server there has it stopped here
        postgres.stop(get_settings())


@pytest.fixture
def stack_settings(settings: Settings) -> Settings:
    """Stack-mode settings pointing at ports where nothing listens."""
    from tests.helpers import free_port

    return replace(
        settings,
        mode="stack",
        pg_port=free_port(),
        trino_port=free_port(),
        s3_endpoint=f"http://127.0.0.1:{free_port()}",
    )


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto_server (an S3 test double) on a free loopback port, for the whole session."""
    import socket
    import subprocess
    import time

    from tests.helpers import BIN, free_port

    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("moto_server did not start")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="session")
def trino_stack(s3_endpoint, tmp_path_factory) -> Iterator[Settings]:
    """Stack-mode settings with a real Trino behind them, and no Docker.

    When the compose stack answers at the configured Trino address, its settings are used as they
    are. Otherwise the stack's services are made from processes on 127.0.0.1: the suite's embedded
    PostgreSQL over TCP (a proxy to its socket), moto_server as the object store (an S3 test
    double, in memory), and Trino 476 fetched from Maven Central with the compose stack's own
    catalog files. Without Java 24+ or the download, the tests that need it skip saying why.
    """
    import subprocess

    import psycopg
    from pyarrow import fs

    from playground import postgres, trino, trino_local
    from playground.pagila import seed
    from playground.settings import ServiceUnavailable
    from playground.tcp_proxy import TcpToUnix
    from tests.helpers import ROOT, free_port

    configured = replace(get_settings(), mode="stack")
    try:
        trino.info(configured, timeout=1)
    except ServiceUnavailable:
        pass
    else:
        trino.ready(configured)
        yield configured
        return
    try:
        trino_local.java_home()
        trino_local.fetch(progress=print)
    except trino_local.TrinoUnavailable as exc:
        pytest.skip(str(exc))
    embedded = get_settings()
    postgres.start(embedded)
    server = postgres._running(embedded.pgdata)
    socket_path = str(server.socket_dir / f".s.PGSQL.{server.port}")
    with TcpToUnix(socket_path) as proxy:
        stack = replace(embedded, mode="stack", pg_host="127.0.0.1", pg_port=proxy.port,
                        s3_endpoint=s3_endpoint, trino_host="127.0.0.1",
                        trino_port=free_port())  # fmt: skip
        with postgres.connect("postgres", embedded, autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_roles where rolname = %s", (stack.pg_user,))
            if not exists.fetchone():  # the compose service makes this user its superuser
                conn.execute(
                    psycopg.sql.SQL("create role {} login superuser password {}").format(
                        psycopg.sql.Identifier(stack.pg_user),
                        psycopg.sql.Literal(stack.pg_password),
                    )
                )
            has_catalog = conn.execute(
                "select 1 from pg_database where datname = %s", (stack.catalog_db,)
            ).fetchone()
        if not has_catalog:  # the compose stack's init SQL, as its postgres service runs it
            init = ROOT / "docker" / "postgres" / "initdb" / "01-playground.sql"
            subprocess.run([str(postgres.psql_path()), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                            "-d", postgres.url("postgres", embedded), "-f", str(init)],
                           check=True, capture_output=True)  # fmt: skip
        seed.seed(0.05, database=stack.pagila_db, if_missing=True, progress=lambda _l: None)
        s3 = fs.S3FileSystem(
            access_key=stack.s3_access_key, secret_key=stack.s3_secret_key,
            endpoint_override=s3_endpoint, scheme="http", region=stack.s3_region,
            allow_bucket_creation=True,
        )  # fmt: skip
        s3.create_dir(stack.s3_bucket)
        workdir = tmp_path_factory.mktemp("trino")
        server = trino_local.start(stack, workdir, stack.trino_port, ("127.0.0.1", proxy.port),
                                   s3_endpoint, progress=print)  # fmt: skip
        print(f"Trino {trino_local.VERSION} started in {server.seconds_to_start:.1f} s")
        try:
            yield stack
        finally:
            trino_local.stop(server.pid)
