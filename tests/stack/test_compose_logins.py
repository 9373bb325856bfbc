"""The compose stack's logins, attacked for real: `docker compose up`, then the attacks.

Needs a Docker engine and the stack's images on this machine (skipped otherwise, naming what is
missing; nothing is pulled). It starts, from docker-compose.yml as it is, postgres, s3,
iceberg-rest-server, iceberg-rest (the gate), trino-login, trino and one trino-worker, in a
project of its own, with a data directory and an env file made as `make secrets` makes them, and
removes the project (containers, volumes, network, the image it built) at the end.

pagila-seed is not started (its image installs the package from PyPI): the test makes a small
pagila itself, as the owner, inside the postgres container, so that the read-only role's grants
come from the default privileges `docker/postgres/initdb/02-reader.sh` set.

Compose v2 (`docker compose`) reads the file as it is; Compose v1 (`docker-compose`), which
predates the file's top-level `name:`, gets a copy without that one line.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
import requests
import yaml

from playground.config import secrets
from playground.config.settings import Settings
from playground.engines import trino
from playground.stack import trino_tls
from tests.helpers import ROOT, free_port
from tests.stack.test_another_user import (
    OTHER_USER,
    REST,
    TRINO,
    assert_catalog_and_postgres_refused,
    assert_trino_refused,
    attack,
)

PROJECT = "playground-compose-test"
STARTED = ("postgres", "s3", "iceberg-rest-server", "iceberg-rest", "trino", "trino-worker")
FIXED_PORTS = (9000, 8181)  # published as they are (the S3 endpoint and the catalog URI)
PAGILA = """
create table customer (customer_id int primary key, email text);
insert into customer values (1, 'mary.smith@sakilacustomer.org');
create table payment (payment_id int primary key, amount numeric(5, 2));
insert into payment values (1, 2.99);
"""


def _run(command: list[str], timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False,
                          **kwargs)  # fmt: skip


def _compose_base(folder: Path) -> tuple[list[str], Path]:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client on this machine")
    if _run([docker, "info"], timeout=60).returncode != 0:
        pytest.skip("no Docker engine answers (docker info failed)")
    if _run([docker, "compose", "version"], timeout=60).returncode == 0:
        return [docker, "compose"], ROOT / "docker-compose.yml"
    v1 = shutil.which("docker-compose")
    if v1 is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    lines = (ROOT / "docker-compose.yml").read_text().splitlines(keepends=True)
    copy = folder / "docker-compose.yml"
    copy.write_text("".join(line for line in lines if not line.startswith("name:")))
    return [v1], copy


def _missing_images(docker: str, file: Path) -> list[str]:
    services = yaml.safe_load(file.read_text())["services"]
    wanted = {services[name]["image"] for name in STARTED if "image" in services[name]}
    wanted.add("python:3.12.8-slim-bookworm")  # the gate's and trino-login's
    dockerfile = (ROOT / "docker" / "iceberg-rest" / "Dockerfile").read_text()
    wanted |= {line.split()[1] for line in dockerfile.splitlines() if line.startswith("FROM ")}
    return sorted(i for i in wanted if _run([docker, "image", "inspect", i]).returncode != 0)


def _without_settings() -> dict[str, str]:
    """This process's environment without PLAYGROUND_* (the suite's own settings), which would
    win over the env file, as the shell's variables do for `docker compose`."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PLAYGROUND_")}


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


class Compose:
    def __init__(self, base: list[str], file: Path, env_file: Path) -> None:
        self.prefix = [*base, "-p", PROJECT, "--project-directory", str(ROOT),
                       "--env-file", str(env_file), "-f", str(file)]  # fmt: skip

    def __call__(self, *args: str, timeout: float = 600) -> str:
        done = _run([*self.prefix, *args], timeout=timeout, env=_without_settings())
        assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
        return done.stdout

    def container(self, service: str) -> str:
        return self("ps", "-q", service).split()[0]


def _settings(data: Path, pg_port: int, trino_port: int) -> Settings:
    return replace(Settings(), mode="stack", data_dir=data, pg_port=pg_port,
                   trino_port=trino_port, **secrets.load(data))  # fmt: skip


@pytest.fixture(scope="module")
def compose_stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compose")
    base, file = _compose_base(folder)
    missing = _missing_images(shutil.which("docker") or "docker", file)
    if missing:
        pytest.skip(f"images not on this machine (nothing is pulled here): {', '.join(missing)}")
    taken = [port for port in FIXED_PORTS if not _free(port)]
    if taken:
        pytest.skip(f"ports {taken} are taken (another stack?); the compose file publishes them")
    data = folder / "My Data é"
    data.mkdir(mode=0o700)
    pg_port, trino_port = free_port(), free_port()
    settings = _settings(data, pg_port, trino_port)
    env_file = folder / ".env"
    login = trino_tls.ensure(settings, trino_port)  # what `make secrets` does
    values = {field: getattr(settings, field) for field in secrets.GENERATED}
    values["trino_password"] = login.password  # the BI services' Trino login
    secrets.write_env(env_file, values, ROOT / ".env.example")  # what `make secrets` does
    own = {"PLAYGROUND_DATA_DIR": data, "PLAYGROUND_PG_PORT": pg_port,
           "PLAYGROUND_TRINO_PORT": trino_port}  # fmt: skip
    lines = [line for line in env_file.read_text().splitlines()
             if line.partition("=")[0] not in own]  # fmt: skip
    env_file.write_text("\n".join([*lines, *(f"{k}={v}" for k, v in own.items())]) + "\n")
    compose = Compose(base, file, env_file)
    started = time.monotonic()
    try:
        compose("build", "iceberg-rest-server")
        compose("up", "-d", "postgres", "s3", "iceberg-rest")  # the server first, healthy
        psql = ["exec", "-T", "postgres", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                "-U", settings.pg_user]  # fmt: skip
        compose(*psql, "-d", "postgres", "-c", "create database pagila")
        compose(*psql, "-d", "pagila", "-c", PAGILA)
        compose("run", "--rm", "--no-deps", "trino-login")
        compose("up", "-d", "--no-deps", "trino", "trino-worker")
        trino.ready(settings, timeout=300)
        seconds = time.monotonic() - started
        yield compose, settings, login, seconds
    finally:
        env = _without_settings()
        logs = _run([*compose.prefix, "logs", "--no-color"], timeout=120, env=env).stdout
        (folder / "compose.log").write_text(logs)
        _run([*compose.prefix, "down", "-v", "--rmi", "local", "--remove-orphans"], timeout=300,
             env=env)  # fmt: skip


def _address(compose: Compose, service: str) -> str:
    """The container's address on the project's network: reachable by every local user."""
    inspected = json.loads(_run(["docker", "inspect", compose.container(service)]).stdout)
    (network,) = inspected[0]["NetworkSettings"]["Networks"].values()
    return network["IPAddress"]


@pytest.mark.slow
@pytest.mark.stack
def test_another_user_is_refused_by_trino_the_catalog_and_postgres(compose_stack) -> None:
    compose, settings, login, _ = compose_stack
    trino_ip, gate_ip = _address(compose, "trino"), _address(compose, "iceberg-rest")
    target = {
        "catalog": f"http://{gate_ip}:8181",  # the gate's own address on the bridge network
        "rest": REST,
        "trino_url": f"https://127.0.0.1:{settings.trino_port}",
        "trino_internal_url": f"http://{trino_ip}:8080",  # the workers' plain port
        "trino": TRINO,
        "pg_port": settings.pg_port,
        "data_dir": {
            "data folder": str(settings.data_dir),
            "login folder": str(login.keystore.parent),
            "keystore file": str(login.keystore),
            "password file": str(login.password_file),
        },
    }
    results, who = attack(target)
    assert_trino_refused(results, target, who)
    assert_catalog_and_postgres_refused(results, who)
    if who != OTHER_USER:
        pytest.skip(f"as {who} the data directory is one's own (see test_another_user.py)")
    for name in target["data_dir"]:
        assert results[f"read {name}"] == "refused: Permission denied", (who, name, results)


@pytest.mark.slow
@pytest.mark.stack
def test_wrong_password_and_wrong_token_are_refused_the_right_ones_work(compose_stack) -> None:
    _, settings, login, _ = compose_stack
    url = f"https://localhost:{settings.trino_port}/v1/statement"
    session = requests.Session()
    session.verify, session.trust_env = str(login.certificate), False  # this install's only
    asked = {}
    for name, auth in {"no login": None, "wrong password": (login.user, "not-the-password"),
                       "another user": ("admin", login.password),
                       "the login": (login.user, login.password)}.items():  # fmt: skip
        user = {"X-Trino-User": auth[0] if auth else login.user}
        answer = session.post(url, data="select 1", auth=auth, timeout=30, headers=user)
        asked[name] = answer.status_code
    assert asked == {"no login": 401, "wrong password": 401, "another user": 401, "the login": 200}
    with pytest.raises(requests.exceptions.SSLError):  # nobody else's certificate is trusted
        requests.post(url, data="select 1", auth=(login.user, login.password), timeout=30)
    config = f"{settings.catalog_uri}/v1/config"
    tokens = {"none": {}, "wrong": {"Authorization": "Bearer not-the-token"},
              "basic": {"Authorization": f"Basic {settings.catalog_token}"},
              "this install's": {"Authorization": f"Bearer {settings.catalog_token}"}}  # fmt: skip
    codes = {name: requests.get(config, headers=h, timeout=30).status_code
             for name, h in tokens.items()}  # fmt: skip
    assert codes == {"none": 401, "wrong": 401, "basic": 401, "this install's": 200}


@pytest.mark.slow
@pytest.mark.stack
def test_the_learner_works_through_the_logins(compose_stack) -> None:
    """Trino with the login (its iceberg catalog through the gate with the token), PyIceberg
    through the gate, and Trino's postgresql catalog as the read-only role."""
    from playground.lakehouse import tables

    _, settings, _, seconds = compose_stack
    assert trino.base_url(settings).startswith("https://")
    trino.execute("create schema if not exists iceberg.logins", settings=settings)
    trino.execute("create table iceberg.logins.t (id int, name varchar)", settings=settings)
    trino.execute("insert into iceberg.logins.t values (1, 'مرحبا'), (2, '🦆')", settings=settings)
    catalog = tables.catalog(settings)
    read = catalog.load_table("logins.t").scan().to_arrow().sort_by("id").to_pylist()
    assert read == [{"id": 1, "name": "مرحبا"}, {"id": 2, "name": "🦆"}]
    _, rows = trino.execute("select email from customer", catalog="postgresql", schema="public",
                            settings=settings)  # fmt: skip
    assert rows == [("mary.smith@sakilacustomer.org",)]
    execute = "CALL postgresql.system.execute(query => '{}')"
    for statement in ("drop table postgresql.public.payment",
                      execute.format("create database evil"),
                      execute.format("delete from payment")):  # fmt: skip
        with pytest.raises(Exception, match=r"(?i)permission denied|must be owner"):
            trino.execute(statement, settings=settings)
    _, rows = trino.execute("select count(*) from postgresql.public.payment", settings=settings)
    assert rows == [(1,)]
    assert seconds < 600


@pytest.mark.slow
@pytest.mark.stack
def test_no_secret_is_on_a_command_line_and_the_server_has_no_port(compose_stack) -> None:
    compose, settings, login, _ = compose_stack
    values = [getattr(settings, field) for field in secrets.GENERATED] + [login.password]
    # every process of the machine, the containers' included (`ps` shows them to every user)
    shown = [" ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"])]
    assert any("catalog_gate.py 8181" in line for line in shown)
    assert any("io.trino.server.TrinoServer" in line for line in shown)
    assert [v for v in values if any(v in line for line in shown)] == []
    for service in STARTED:
        (inspected,) = json.loads(_run(["docker", "inspect", compose.container(service)]).stdout)
        argv = " ".join([*(inspected["Config"]["Entrypoint"] or []),
                         *(inspected["Config"]["Cmd"] or [])])  # fmt: skip
        assert [v for v in values if v in argv] == [], service
    # the catalog's server listens on no TCP port at all, only on its socket
    server = compose.container("iceberg-rest-server")
    tables = _run(["docker", "exec", server, "cat", "/proc/net/tcp", "/proc/net/tcp6"]).stdout
    listening = [line.split()[1] for line in tables.splitlines() if line.split()[3:4] == ["0A"]]
    # Docker's embedded DNS answers every container of a compose network on 127.0.0.11
    dns = "0B00007F:"
    assert [address for address in listening if not address.startswith(dns)] == [], listening
