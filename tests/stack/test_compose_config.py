"""The compose stack's files, validated offline (no Docker engine needed).

Checks: pinned images, healthchecks and dependency conditions; compose defaults equal to
.env.example and to the library's settings; Trino property keys against the documented keys of the
pinned release; the logins (every port on 127.0.0.1, Trino's password over HTTPS, the catalog only
through its gate, no secret in the file or on a command line), read from the parsed file as
Docker would resolve it; the Postgres init SQL run for real on a throw-away PostgreSQL, then used
by PyIceberg's SqlCatalog as the stack uses it.
"""

import hashlib
import json
import os
import re
import subprocess
from dataclasses import fields, replace
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from dotenv import dotenv_values

from playground.config import secrets
from playground.config.settings import Settings, env_name
from playground.services import postgres
from tests.helpers import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
ENV_EXAMPLE = dotenv_values(ROOT / ".env.example")
TRINO = ROOT / "docker" / "trino"

# Documented keys (trino.io/docs/476: admin/properties, connector/iceberg, connector/postgresql,
# connector/tpch, object-storage/file-system-s3, client/client-protocol) of every key the stack
# sets. The stack runs 476, the newest Trino whose server Maven Central publishes (the suite
# starts that same server): `fs.native-s3.enabled` is its name for the native S3 file system
# (481 renamed it `fs.s3.enabled` and kept this one as an alias). No legacy `hive.s3.*` keys.
TRINO_KEYS = {
    "config": {
        "coordinator", "node-scheduler.include-coordinator", "http-server.http.port",
        "discovery.uri", "protocol.spooling.enabled", "protocol.spooling.shared-secret-key",
        "protocol.spooling.retrieval-mode",
        # the login (coordinator/ and worker/login.properties): admin/properties-http-server,
        # security/tls, security/internal-communication
        "http-server.https.enabled", "http-server.https.port", "http-server.https.keystore.path",
        "http-server.authentication.type", "internal-communication.shared-secret",
    },
    "password": {"password-authenticator.name", "file.password-file"},
    "spooling": {
        "spooling-manager.name", "fs.s3.enabled", "fs.location", "s3.endpoint",
        "s3.region", "s3.path-style-access", "s3.aws-access-key", "s3.aws-secret-key",
    },
    "iceberg": {
        "connector.name", "iceberg.catalog.type", "iceberg.rest-catalog.uri",
        "iceberg.rest-catalog.security", "iceberg.rest-catalog.oauth2.token",
        "fs.native-s3.enabled", "s3.endpoint",
        "iceberg.add-files-procedure.enabled", "iceberg.expire-snapshots.min-retention",
        "s3.region", "s3.path-style-access", "s3.aws-access-key", "s3.aws-secret-key",
    },
    "postgresql": {"connector.name", "connection-url", "connection-user", "connection-password"},
    "tpch": {"connector.name"},
}  # fmt: skip


def _properties(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_compose_file_passes_dclint(tmp_path) -> None:
    """Compose-specification schema and safety rules (dclint, installed by `make install`)."""
    import shutil

    dclint = ROOT / "node_modules" / ".bin" / "dclint"
    if not dclint.exists():
        if shutil.which("npm"):
            pytest.fail("dclint is missing: run `make install` (it runs `npm ci`)")
        pytest.skip("npm is not installed: the compose lint needs Node.js")
    result = subprocess.run([str(dclint), "docker-compose.yml"], cwd=ROOT, capture_output=True,
                            text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        (ROOT / "docker-compose.yml").read_text().replace("healthcheck:", "healthchek:", 1)
    )
    result = subprocess.run([str(dclint), str(broken)], cwd=ROOT, capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert result.returncode == 1 and "invalid-schema" in result.stdout


def test_images_are_pinned_and_services_healthchecked() -> None:
    one_shot = {
        dependency
        for service in COMPOSE["services"].values()
        for dependency, spec in service.get("depends_on", {}).items()
        if spec["condition"] == "service_completed_successfully"
    }
    assert one_shot == {"pagila-seed", "superset-init", "trino-login"}
    for name, service in COMPOSE["services"].items():
        if "build" in service:  # its base images are pinned in its Dockerfile (test_stack_bi)
            build = service["build"]
            assert (ROOT / build["context"] / build.get("dockerfile", "Dockerfile")).exists(), name
        else:
            image = service["image"]
            assert re.search(r":(v?\d+(\.\d+)*(-[a-z-]+)?|RELEASE\.\S+)$", image), (name, image)
        if name not in one_shot and name != "metabase-init":  # these run to completion
            assert service["healthcheck"]["test"], name
        for dependency, spec in service.get("depends_on", {}).items():
            target = COMPOSE["services"][dependency]
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in target, f"{name} waits for {dependency}'s health"
            else:
                assert spec["condition"] == "service_completed_successfully"


def test_published_ports_bind_loopback_only() -> None:
    for name, service in COMPOSE["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)


def test_volumes_are_named_or_in_the_repository() -> None:
    declared = set(COMPOSE["volumes"])
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            data_dir = "${PLAYGROUND_DATA_DIR:-.playground}/"
            source = data_dir if volume.startswith(data_dir) else volume.split(":")[0]
            assert "PWD" not in source, name
            if source == "./.playground":
                # the data dir the library writes (PLAYGROUND_DATA_DIR's default), mounted
                # read-only into the BI services for the DuckDB file
                assert volume.endswith(":ro"), name
                assert ENV_EXAMPLE["PLAYGROUND_DATA_DIR"] == ".playground"
            elif source == data_dir:
                # the Trino login `make secrets` makes there, read-only, by the one-shot copier
                assert (name, volume.endswith(":ro")) == ("trino-login", True)
            elif source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} missing"
            else:
                assert source in declared, f"{name}: volume {source} not declared"


def test_compose_defaults_equal_env_example_and_settings() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    known = {env_name(f.name) for f in fields(Settings)}
    defaults = re.findall(r"\$\{(PLAYGROUND_[A-Z0-9_]+):-([^}]*)\}", text)
    assert len(defaults) >= 10
    for variable, default in defaults:
        assert variable in known, variable
        assert ENV_EXAMPLE[variable] == default, variable
    assert not re.findall(r"\$\{(?!PLAYGROUND_)", text), "every variable comes from .env"


def test_trino_properties_use_documented_keys_and_env() -> None:
    assert not (TRINO / "coordinator" / "jvm.config").exists()
    environment = COMPOSE["services"]["trino"]["environment"]
    assert environment == COMPOSE["services"]["trino-worker"]["environment"]
    files = {
        "config": [TRINO / role / name for role in ("coordinator", "worker")
                   for name in ("config.properties", "login.properties")],
        "password": [TRINO / "coordinator" / "password-authenticator.properties"],
        **{kind: [TRINO / "catalog" / f"{kind}.properties"]
           for kind in ("iceberg", "postgresql", "tpch")},
        "spooling": [TRINO / "spooling-manager.properties"],
    }  # fmt: skip
    for kind, paths in files.items():
        for path in paths:
            properties = _properties(path)
            assert set(properties) <= TRINO_KEYS[kind], (path, set(properties) - TRINO_KEYS[kind])
            assert not any(k.startswith("hive.s3.") for k in properties)
            for variable in re.findall(r"\$\{ENV:([A-Z0-9_]+)\}", path.read_text()):
                assert variable in environment, (path, variable)
    iceberg = _properties(TRINO / "catalog" / "iceberg.properties")
    # the REST catalog service, by its compose name (the local stack renders its own address)
    assert iceberg["iceberg.catalog.type"] == "rest"
    assert iceberg["iceberg.rest-catalog.uri"] == "http://iceberg-rest:8181"
    assert "iceberg-rest" in COMPOSE["services"]["trino"]["depends_on"]
    assert iceberg["s3.endpoint"] == "http://s3:9000"
    assert iceberg["s3.path-style-access"] == "true"
    assert COMPOSE["services"]["trino"]["ports"] == [
        "127.0.0.1:${PLAYGROUND_TRINO_PORT:-8080}:8443"
    ]


def test_rest_catalog_service_runs_what_the_local_stack_runs() -> None:
    """The compose service builds from the files `playground stack up` runs, and every variable
    the Jetty configuration reads is set, by both."""
    from playground.stack import rest_catalog, s3_server

    folder = ROOT / "docker" / "iceberg-rest"
    service = COMPOSE["services"]["iceberg-rest-server"]
    assert service["build"]["context"] == "./docker/iceberg-rest"
    dockerfile = (folder / "Dockerfile").read_text()
    assert "COPY jars.txt rest-catalog.xml unix-socket.xml ./" in dockerfile
    assert "sha1sum -c" in dockerfile
    # the local stack's two files, in its order (the second replaces the TCP connector)
    assert (f"{rest_catalog.MAIN} /opt/iceberg-rest/rest-catalog.xml "
            "/opt/iceberg-rest/unix-socket.xml") in dockerfile  # fmt: skip
    assert re.search(r"^FROM eclipse-temurin:\d+\.\d+\.\d+_\d+-jre", dockerfile, re.M)
    xml = "".join((folder / name).read_text() for name in ("rest-catalog.xml", "unix-socket.xml"))
    read = set(re.findall(r'<Env name="(\w+)"', xml))
    assert read - {"REST_HOST", "REST_PORT"} == set(service["environment"])
    local = rest_catalog.environment(Settings(mode="stack"), 8181, ("127.0.0.1", 5432), "http://s3")
    assert set(local) == read - {"REST_SOCKET"}  # the local gate names its own socket
    assert local["REST_HOST"] == "127.0.0.1"
    assert "ports" not in service and "expose" not in service
    assert COMPOSE["services"]["iceberg-rest"]["ports"] == ["127.0.0.1:8181:8181"]
    assert ENV_EXAMPLE["PLAYGROUND_CATALOG_URI"] == "http://localhost:8181"
    jars = rest_catalog.jars()
    assert all(re.fullmatch(r"[0-9a-f]{40}", jar.sha1) for jar in jars)
    names = {jar.name for jar in jars}
    assert f"iceberg-core-{rest_catalog.VERSION}-tests.jar" in names
    assert f"iceberg-aws-{rest_catalog.VERSION}.jar" in names
    assert len(names) == len(jars)
    # the object store is the versitygw the local stack builds, at the same version
    assert COMPOSE["services"]["s3"]["image"] == f"versity/versitygw:{s3_server.VERSION}"


@pytest.mark.slow
def test_init_sql_builds_the_shared_catalog(tmp_path, settings) -> None:
    """Run the init SQL as the postgres image does, on a throw-away server, then use it."""
    from pyiceberg.catalog.sql import SqlCatalog

    init = ROOT / "docker" / "postgres" / "initdb" / "01-playground.sql"
    names = re.findall(r"CREATE DATABASE (\w+);", init.read_text())
    assert names == [Settings.catalog_db]  # pagila comes from the pagila-seed service
    throwaway = replace(settings, data_dir=tmp_path)
    postgres.start(throwaway)
    try:
        result = subprocess.run(
            [str(postgres.psql_path()), "-v", "ON_ERROR_STOP=1", "-X", "-q",
             "-d", postgres.url("postgres", throwaway), "-f", str(init)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        url = postgres.url(Settings.catalog_db, throwaway, driver="psycopg")
        catalog = SqlCatalog(
            Settings.catalog_name, uri=url, warehouse=(tmp_path / "wh").as_uri(),
            init_catalog_tables="false",
        )  # fmt: skip
        catalog.create_namespace("pagila_raw")
        table = catalog.create_table("pagila_raw.t", schema=pa.schema([("a", pa.int64())]))
        table.append(pa.table({"a": [1, 2, 3]}))
        assert catalog.load_table("pagila_raw.t").scan().to_arrow().num_rows == 3
        with postgres.connect(Settings.catalog_db, throwaway) as conn:
            rows = conn.execute(
                "select catalog_name, table_namespace, table_name, iceberg_type from iceberg_tables"
            ).fetchall()
        # PyIceberg fills the column Trino's V1 schema reads
        assert rows == [(Settings.catalog_name, "pagila_raw", "t", "TABLE")]
    finally:
        postgres.stop(throwaway)


# --- the logins: every value as Docker would resolve it from .env ------------------------------

SECRET_VARIABLES = {secrets.variable(field) for field in secrets.SECRET_FIELDS}
_REFERENCE = re.compile(r"\$\$|\$\{([A-Z0-9_]+)(?::([?-])([^}]*))?\}")


def _resolve(text: str, env: dict[str, str]) -> str:
    """The compose file with its `${VAR:?msg}`, `${VAR:-default}` and `$$` resolved from `env`,
    as `docker compose` does (an unset `:?` variable is an error)."""

    def value(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, kind, rest = match.groups()
        if env.get(name):
            return env[name]
        if kind == "?":
            raise LookupError(f"{name}: {rest}")
        return rest if kind == "-" else ""

    return _REFERENCE.sub(value, text)


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    """This install's secrets as `make secrets` writes them into .env (generated afresh), with
    the password of Trino's login, which it writes there too."""
    values = {secrets.variable(field): make() for field, make in secrets.GENERATED.items()}
    return {**values, "PLAYGROUND_TRINO_PASSWORD": secrets.GENERATED["pg_password"]()}


@pytest.fixture(scope="module")
def resolved(generated) -> dict:
    return yaml.safe_load(_resolve((ROOT / "docker-compose.yml").read_text(), generated))


def _argv(value) -> list[str]:
    """A command, entrypoint or healthcheck test as the words Docker runs."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(word) for word in value]


def _mounts(service: dict) -> dict[str, str]:
    """Container path -> source (a repository path or a named volume) of a service's volumes."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        mounts[target] = source
    return mounts


def test_without_the_secrets_compose_refuses_to_start(generated) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for variable in generated:
        with pytest.raises(LookupError, match=f"{variable}: run make secrets"):
            _resolve(text, {k: v for k, v in generated.items() if k != variable})


def test_every_published_port_is_bound_to_loopback(resolved) -> None:
    published = {}
    for name, service in resolved["services"].items():
        assert "network_mode" not in service, name  # host networking would publish everything
        for port in service.get("ports", []):
            host_ip, host_port, container_port = str(port).split(":")
            assert host_ip == "127.0.0.1", (name, port)
            published[name] = (int(host_port), int(container_port))
    assert published == {
        "postgres": (5432, 5432), "s3": (9000, 9000), "iceberg-rest": (8181, 8181),
        "trino": (8080, 8443), "metabase": (3030, 3000), "superset": (8088, 8088),
    }  # fmt: skip


def _trino_config(resolved: dict, name: str) -> dict[str, str]:
    """The config.properties a Trino service runs: the files its command joins, read from the
    repository through its mounts."""
    service = resolved["services"][name]
    command = " ".join(_argv(service["command"]))
    joined = re.fullmatch(r"/bin/sh -c cat ((?:/etc/trino/\S+ )+)> (\S+) && exec "
                          r"/usr/lib/trino/bin/run-trino -config (\S+)", command)  # fmt: skip
    assert joined and joined.group(2) == joined.group(3), command
    mounts, config = _mounts(service), {}
    for path in joined.group(1).split():
        assert mounts[path].startswith("./docker/trino/"), path  # the repository's files
        config.update(_properties(ROOT / mounts[path]))
    return config


def test_trino_asks_for_a_password_over_https_only(resolved, generated) -> None:
    from playground.stack import trino_server, trino_tls

    trino = resolved["services"]["trino"]
    config = _trino_config(resolved, "trino")
    assert config["http-server.https.enabled"] == "true"
    assert config["http-server.authentication.type"] == "PASSWORD"
    # the published port is the HTTPS one; the plain port (the workers') is not published
    assert trino["ports"] == [f"127.0.0.1:8080:{config['http-server.https.port']}"]
    assert config["http-server.http.port"] == "8080" and config["http-server.https.port"] != "8080"
    assert "http-server.authentication.allow-insecure-over-http" not in config  # Trino: false
    # the same keys `playground stack up` adds for its own ports and paths
    login = trino_tls.Login("u", "", Path("/c"), Path("/k"), Path("/p"))
    local = {line.partition("=")[0] for line in trino_server._secured(1, login)}
    assert local == set(_properties(TRINO / "coordinator" / "login.properties"))
    # the nodes share one secret, from .env; the worker runs its own file with it
    worker = _trino_config(resolved, "trino-worker")
    assert worker["internal-communication.shared-secret"] == "${ENV:TRINO_INTERNAL_SECRET}"
    assert config["internal-communication.shared-secret"] == "${ENV:TRINO_INTERNAL_SECRET}"
    environment = trino["environment"]
    assert environment["TRINO_INTERNAL_SECRET"] == generated["PLAYGROUND_TRINO_INTERNAL_SECRET"]
    # the password file and the key: this install's, copied from the data directory's login
    mounts = _mounts(trino)
    authenticator = _properties(ROOT / mounts["/etc/trino/password-authenticator.properties"])
    assert authenticator["password-authenticator.name"] == "file"
    assert mounts["/etc/trino/login"] == "trino-login"
    folder = Path("/etc/trino/login")
    assert Path(authenticator["file.password-file"]).parent == folder
    assert Path(config["http-server.https.keystore.path"]).parent == folder
    copier = resolved["services"]["trino-login"]
    copied = _mounts(copier)
    assert copied["/from"] == ".playground/stack/trino-tls"  # trino_tls.folder(settings)
    assert copied["/login"] == "trino-login"
    script = " ".join(_argv(copier["command"]))
    names = {Path(config["http-server.https.keystore.path"]).name,
             Path(authenticator["file.password-file"]).name}  # fmt: skip
    assert names == {"keystore.pem", "password.db"}  # the names trino_tls.ensure writes
    for name in names:
        assert f"/from/{name}" in script
    assert "login.json" not in script  # the clear password stays in the data directory
    assert "-m 0400" in script and "-o 1000" in script  # Trino's user only
    assert trino["depends_on"]["trino-login"]["condition"] == "service_completed_successfully"


def test_the_catalog_is_reached_only_through_its_gate(resolved, generated) -> None:
    services = resolved["services"]
    server, gate = services["iceberg-rest-server"], services["iceberg-rest"]
    assert "ports" not in server and "expose" not in server and "network_mode" not in server
    dockerfile = (ROOT / "docker" / "iceberg-rest" / "Dockerfile").read_text()
    assert "EXPOSE" not in dockerfile and "REST_PORT" not in dockerfile
    # the server listens on a socket in a volume only it and the gate mount
    socket = Path(server["environment"]["REST_SOCKET"])
    assert _mounts(server)[str(socket.parent)] == "iceberg-rest-socket"
    assert _mounts(gate)[str(socket.parent)] == "iceberg-rest-socket"
    sharing = {n for n, s in services.items() if "iceberg-rest-socket" in _mounts(s).values()}
    assert sharing == {"iceberg-rest-server", "iceberg-rest"}
    assert f"install -d -o 1000 -g 1000 -m 0700 {socket.parent}" in dockerfile
    # the gate: the local stack's own file, fronting that socket with this install's token
    assert _mounts(gate)["/gate/catalog_gate.py"] == "./playground/stack/catalog_gate.py"
    assert _argv(gate["command"]) == ["python", "/gate/catalog_gate.py", "8181"]
    assert gate["environment"]["REST_SOCKET"] == str(socket)
    assert gate["environment"]["CATALOG_TOKEN"] == generated["PLAYGROUND_CATALOG_TOKEN"]
    assert gate["user"] == "1000:1000"  # the socket's owner, not root
    assert gate["depends_on"] == {"iceberg-rest-server": {"condition": "service_healthy"}}
    # every client of the catalog goes to the gate: Trino by the service's name, with the token
    iceberg = _properties(TRINO / "catalog" / "iceberg.properties")
    assert iceberg["iceberg.rest-catalog.uri"] == "http://iceberg-rest:8181"
    assert iceberg["iceberg.rest-catalog.oauth2.token"] == "${ENV:PLAYGROUND_CATALOG_TOKEN}"
    token = services["trino"]["environment"]["PLAYGROUND_CATALOG_TOKEN"]
    assert token == generated["PLAYGROUND_CATALOG_TOKEN"]
    for name, service in services.items():
        assert "iceberg-rest-server" not in service.get("depends_on", {}) or name == "iceberg-rest"


def test_no_secret_is_in_the_file_or_on_a_command_line(resolved, generated) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    # each secret comes from .env: referenced with `:?` (no default), never written out
    for variable in SECRET_VARIABLES:
        for use in re.findall(rf"\${{{variable}(.?.?)", text):
            assert use == ":?", (variable, use)
    values = set(generated.values())
    carriers = set()  # the variables that carry a secret inside a container
    for service in resolved["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if str(value) in values:
                carriers.add(key)
    assert {
        "CATALOG_TOKEN",
        "TRINO_INTERNAL_SECRET",
        "POSTGRES_PASSWORD",
        "TRINO_PASSWORD",
    } <= carriers
    for name, service in resolved["services"].items():
        words = [*_argv(service.get("command")), *_argv(service.get("entrypoint")),
                 *_argv((service.get("healthcheck") or {}).get("test"))]  # fmt: skip
        words += [str(v) for v in (service.get("build") or {}).get("args", {}).values()]
        words += service.get("volumes", [])
        for word in words:
            assert not any(value in word for value in values), name
            # nor a shell expansion of one into another program's argv
            for carrier in carriers:
                assert not re.search(rf"\${{?{carrier}\b", word), (name, carrier)
    # the Trino files read every secret from the environment
    for path in TRINO.rglob("*.properties"):
        for key, value in _properties(path).items():
            if re.search(r"(password|secret|token|secret-key)$", key):
                assert re.fullmatch(r"\$\{ENV:[A-Z0-9_]+\}", value), (path, key)


def test_make_secrets_makes_what_compose_reads(tmp_path, monkeypatch, capsys) -> None:
    """`playground secrets` (what `make secrets` runs) in a fresh clone: `.env` gets every key
    and password, the data directory Trino's login, in the files the compose services mount."""
    import stat

    from playground.cli import main

    clone, data = tmp_path / "clone", tmp_path / "My Data é"
    clone.mkdir()
    (clone / ".env.example").write_text((ROOT / ".env.example").read_text())
    monkeypatch.setattr("playground.config.settings.project_root", lambda: clone)
    for name in [k for k in os.environ if k.startswith("PLAYGROUND_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(data))
    assert main._secrets(None) == 0
    env = dotenv_values(clone / ".env")
    written = {secrets.variable(field) for field in secrets.GENERATED}
    written.add("PLAYGROUND_TRINO_PASSWORD")  # the BI services' Trino login
    assert all(len(env[variable]) >= 24 for variable in written), env.keys()
    _resolve((ROOT / "docker-compose.yml").read_text(), env)  # compose now starts
    folder = data / "stack" / "trino-tls"
    login = json.loads((folder / "login.json").read_text())
    assert login["port"] == int(ENV_EXAMPLE["PLAYGROUND_TRINO_PORT"]) == 8080
    user, iterations, salt, digest = (folder / "password.db").read_text().strip().split(":")
    assert user == login["user"] == ENV_EXAMPLE["PLAYGROUND_TRINO_USER"]
    assert env["PLAYGROUND_TRINO_PASSWORD"] == login["password"]  # compose's BI log in with it
    expected = hashlib.pbkdf2_hmac("sha1", login["password"].encode(), bytes.fromhex(salt),
                                   int(iterations), dklen=64)  # fmt: skip
    assert digest == expected.hex()  # the format Trino's file authenticator checks
    assert "PRIVATE KEY" in (folder / "keystore.pem").read_text()
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    output = capsys.readouterr().out
    assert login["password"] not in output and env["PLAYGROUND_PG_PASSWORD"] not in output


def test_the_bi_services_reach_trino_over_https_with_its_login(resolved, generated) -> None:
    """Superset and Metabase register Trino at its HTTPS port with the user and password from
    .env (referenced, never written out), verifying it against this install's certificate,
    which reaches them alone, read-only, in a volume of its own; Trino's key does not."""
    import importlib.util

    from sqlalchemy.engine import make_url

    from playground.stack import superset

    services = resolved["services"]
    https_port = int(_trino_config(resolved, "trino")["http-server.https.port"])
    # the password is only ever a ${...} reference to .env, in the file as written
    for name in ("superset-init", "metabase-init"):
        raw = COMPOSE["services"][name]["environment"]["TRINO_PASSWORD"]
        assert re.fullmatch(r"\$\{PLAYGROUND_TRINO_PASSWORD:\?[^$}]*\}", raw), raw
    assert "TRINO_PASSWORD" not in services["superset"]["environment"]  # the server: no need
    # Superset: the URI init.sh registers (lakehouse.py sets the password into it)
    path = ROOT / "docker" / "superset" / "lakehouse.py"
    spec = importlib.util.spec_from_file_location("lakehouse", path)
    lakehouse = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lakehouse)
    init = {k: str(v) for k, v in services["superset-init"]["environment"].items()}
    url = make_url(lakehouse.uri(init))
    assert (url.drivername, url.host, url.port) == ("trino", "trino", https_port)
    assert url.database == "iceberg"
    assert (url.username, url.password) == ("playground", generated["PLAYGROUND_TRINO_PASSWORD"])
    # its extra is what `playground bi` registers against the local stack, for the mount
    extra = json.loads(init["TRINO_EXTRA"])
    certificate = extra["engine_params"]["connect_args"]["verify"]
    assert extra["engine_params"]["connect_args"]["http_scheme"] == "https"
    assert extra == json.loads(superset.https_extra(certificate))
    metabase = services["metabase-init"]["environment"]
    assert (metabase["TRINO_HOST"], int(metabase["TRINO_PORT"])) == ("trino", https_port)
    assert metabase["TRINO_PASSWORD"] == generated["PLAYGROUND_TRINO_PASSWORD"]
    assert metabase["TRINO_CERTIFICATE"] == certificate
    # the certificate: where each process that connects reads it, read-only
    folder, name = certificate.rsplit("/", 1)
    assert name == "certificate.pem"  # trino_tls.ensure's public certificate
    for service in ("superset-init", "superset", "metabase"):
        assert f"trino-certificate:{folder}:ro" in services[service]["volumes"], service
    readers = {n for n, s in services.items() if "trino-certificate" in _mounts(s).values()}
    assert readers == {"trino-login", "superset-init", "superset", "metabase"}
    # trino-login fills it with the certificate alone; the key goes only to Trino's volume
    script = " ".join(_argv(services["trino-login"]["command"]))
    copies = [copy.strip() for copy in re.findall(r"install ([^&;]*)", script)]
    assert copies == ["-o 1000 -g 1000 -m 0400 -t /login /from/keystore.pem /from/password.db",
                      "-m 0444 -t /certificate /from/certificate.pem"]  # fmt: skip
    assert _mounts(services["trino-login"])["/certificate"] == "trino-certificate"
    keyed = {n for n, s in services.items() if "trino-login" in _mounts(s).values()}
    assert keyed == {"trino-login", "trino"}
    for name, service in services.items():  # the data directory: trino-login's alone
        sources = [v.split(":")[0] for v in service.get("volumes", [])]
        assert not any("trino-tls" in source for source in sources) or name == "trino-login"


def test_a_trino_password_set_in_env_is_the_one_trino_checks(tmp_path, monkeypatch) -> None:
    """A learner who set PLAYGROUND_TRINO_PASSWORD in .env (or whose .env kept an earlier one
    while the data directory was made anew): `playground secrets` keeps it there and writes it
    into Trino's password file, so the BI services' login and Trino's agree; a second run
    changes neither."""
    from playground.cli import main

    clone, data = tmp_path / "clone", tmp_path / "My Data #1 é"
    clone.mkdir()
    chosen = "learners-own:pass/é"
    example = (ROOT / ".env.example").read_text()
    empty = "PLAYGROUND_TRINO_PASSWORD=\n"
    (clone / ".env").write_text(example.replace(empty, f"PLAYGROUND_TRINO_PASSWORD={chosen}\n"))
    monkeypatch.setattr("playground.config.settings.project_root", lambda: clone)
    for name in [k for k in os.environ if k.startswith("PLAYGROUND_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(data))
    folder = data / "stack" / "trino-tls"
    for _ in range(2):
        assert main._secrets(None) == 0
        assert dotenv_values(clone / ".env")["PLAYGROUND_TRINO_PASSWORD"] == chosen
        assert json.loads((folder / "login.json").read_text())["password"] == chosen
        _, iterations, salt, digest = (folder / "password.db").read_text().strip().split(":")
        expected = hashlib.pbkdf2_hmac("sha1", chosen.encode(), bytes.fromhex(salt),
                                       int(iterations), dklen=64)  # fmt: skip
        assert digest == expected.hex()
