from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from playground.config.settings import Settings, get_settings

# Generated examples: the suite plays the same ones every run, so a red run names a bug, never a
# draw; `HYPOTHESIS_PROFILE=search` looks for new ones (keep what it finds as an @example).
hypothesis_settings.register_profile("suite", derandomize=True, database=None)
hypothesis_settings.register_profile("search", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))


@pytest.fixture(scope="session", autouse=True)
def suite_postgres() -> None:
    """The embedded PostgreSQL of the suite's shared data directory (see the root conftest),
    started once: the library never starts a server behind a caller's back, so the suite does."""
    from playground.services import postgres

    postgres.start(get_settings(), progress=lambda _line: None)


@pytest.fixture
def settings() -> Settings:
    """Settings of the suite's shared data directory, its embedded PostgreSQL running."""
    return get_settings()


@pytest.fixture
def fresh_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data directory of the test's own (its catalog is empty; no server runs there: see
    `fresh_postgres`)."""
    import shutil

    from playground.orchestration import dbt_project

    suite = get_settings()
    data = tmp_path / "data"
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(data))
    # dbt's manifest as `playground dbt prepare` leaves it (its content is the project's, the same
    # for every data directory): the code location loads without a parse per test
    target = dbt_project.target_dir(get_settings())
    target.mkdir(parents=True)
    shutil.copy2(dbt_project.manifest_path(suite), target / "manifest.json")
    yield data
    from playground.services import postgres

    if (data / "pgdata").is_dir():  # a test that started a server there has it stopped here
        postgres.stop(get_settings())


@pytest.fixture
def fresh_postgres(fresh_data_dir: Path) -> Path:
    """A data directory of the test's own with its embedded PostgreSQL started (stopped after)."""
    from playground.services import postgres

    postgres.start(get_settings(), progress=lambda _line: None)
    return fresh_data_dir


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
        catalog_uri=f"http://127.0.0.1:{free_port()}",
    )


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto_server (an S3 test double) on a free loopback port, for the whole session."""
    import subprocess

    from playground.services.net import wait_port
    from tests.helpers import BIN, free_port

    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if not wait_port(port, 30, process):
        process.kill()
        pytest.fail("moto_server did not start")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="session")
def trino_stack() -> Iterator[Settings]:
    """Stack-mode settings with a real Trino behind them, and no Docker.

    When the compose stack answers at the configured Trino address, its settings are used as they
    are. Otherwise `playground stack up`'s code starts the stack's services as processes on free
    127.0.0.1 ports, for the suite's data directory: its embedded PostgreSQL over TCP, versitygw
    as the object store, the Iceberg REST catalog, and Trino 476 with the compose stack's own
    catalog files. Without Java 24+, Go (to build versitygw once) or the downloads, the tests
    that need it skip saying why.
    """
    from playground.config.settings import ServiceUnavailable
    from playground.engines import trino
    from playground.stack import control, rest_catalog, s3_server, trino_server
    from tests.helpers import free_port

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
        control.can_start()
        trino_server.fetch(progress=print)
        rest_catalog.fetch(progress=print)
    except (trino_server.TrinoUnavailable, s3_server.S3Unavailable,
            rest_catalog.CatalogUnavailable) as exc:  # fmt: skip
        pytest.skip(str(exc))
    stack = replace(configured, pg_host="127.0.0.1", pg_port=free_port(), pagila_scale=0.05,
                    s3_endpoint=f"http://127.0.0.1:{free_port()}", trino_host="127.0.0.1",
                    trino_port=free_port(),
                    catalog_uri=f"http://127.0.0.1:{free_port()}")  # fmt: skip
    from playground.services import postgres

    # the suite's own server, started first: `up` did not start it, so no `down` stops it
    postgres.start(replace(stack, mode="embedded"), progress=print)
    try:
        for line in control.up(stack):
            print(line)
        yield stack
    finally:
        control.down(stack)


@pytest.fixture(scope="session")
def superset_env(tmp_path_factory) -> Iterator[dict[str, str]]:
    """`playground bi start` for real, in a data directory of its own: pagila at SF 0.2 through
    the whole pipeline (so the warehouse has its marts), then Superset in its own virtualenv
    (built once per run), set up by the compose service's init.sh; stopped by PID at the end.
    Yields the environment naming that data directory (`superset_running` applies it)."""
    from playground.services import postgres
    from playground.stack import superset
    from tests.helpers import free_port, pipeline_on

    try:
        superset.base_python()
    except superset.BIError as exc:
        pytest.skip(str(exc))
    env = {"PLAYGROUND_DATA_DIR": str(tmp_path_factory.mktemp("bi") / "data"),
           "PLAYGROUND_SUPERSET_PORT": str(free_port())}  # fmt: skip

    def applied(patch: pytest.MonkeyPatch) -> None:
        for name, value in env.items():
            patch.setenv(name, value)

    try:
        with pytest.MonkeyPatch.context() as patch:
            applied(patch)
            with pipeline_on("pagila", 0.2, 42):
                superset.start(progress=print)
        yield env
    finally:
        with pytest.MonkeyPatch.context() as patch:
            applied(patch)
            superset.stop()
            postgres.stop(get_settings())


@pytest.fixture
def superset_running(superset_env, monkeypatch):
    """The running Superset's status, with this test's settings pointing at its data directory."""
    from playground.stack import superset

    for name, value in superset_env.items():
        monkeypatch.setenv(name, value)
    return superset.status()


@pytest.fixture(scope="session")
def seeded():
    """Seed a database once per (scale, seed) into the suite's server; a connection factory."""
    import psycopg

    from playground.datasets.pagila import seed
    from playground.services import postgres

    made: dict[tuple, str] = {}

    def factory(scale: float, seed_value: int = 42) -> psycopg.Connection:
        key = (scale, seed_value)
        if key not in made:
            name = f"pagila_test_{str(scale).replace('.', '_')}_{seed_value}"
            seed.seed(scale, seed_value, database=name, progress=lambda _line: None)
            made[key] = name
        return psycopg.connect(postgres.url(made[key]))

    return factory


@pytest.fixture
def shared_pagila() -> Path:
    """The upstream pagila dump beside the project (../shared/data/pagila), or a skip."""
    from tests.helpers import ROOT

    folder = ROOT.parent / "shared" / "data" / "pagila"
    if not (folder / "pagila-data.sql").is_file():
        pytest.skip("upstream pagila is not beside the project (../shared/data/pagila)")
    return folder
