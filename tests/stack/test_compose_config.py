"""The compose stack's files, validated offline (no Docker engine needed).

Checks: pinned images, healthchecks and dependency conditions; compose defaults equal to
.env.example and to the library's settings; Trino property keys against the documented keys of the
pinned release; the Postgres init SQL run for real on a throw-away PostgreSQL, then used by
PyIceberg's SqlCatalog as the stack uses it.
"""

import re
import subprocess
from dataclasses import fields, replace
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from dotenv import dotenv_values

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
    },
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
    assert one_shot == {"pagila-seed", "superset-init"}
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
            source = volume.split(":")[0]
            assert "PWD" not in source, name
            if source == "./.playground":
                # the data dir the library writes (PLAYGROUND_DATA_DIR's default), mounted
                # read-only into the BI services for the DuckDB file
                assert volume.endswith(":ro"), name
                assert ENV_EXAMPLE["PLAYGROUND_DATA_DIR"] == ".playground"
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
        "config": [TRINO / "coordinator" / "config.properties",
                   TRINO / "worker" / "config.properties"],
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
        "127.0.0.1:${PLAYGROUND_TRINO_PORT:-8080}:8080"
    ]


def test_rest_catalog_service_runs_what_the_local_stack_runs() -> None:
    """The compose service builds from the files `playground stack up` runs, and every variable
    the Jetty configuration reads is set, by both."""
    from playground.stack import rest_catalog, s3_server

    folder = ROOT / "docker" / "iceberg-rest"
    service = COMPOSE["services"]["iceberg-rest"]
    assert service["build"]["context"] == "./docker/iceberg-rest"
    dockerfile = (folder / "Dockerfile").read_text()
    assert "COPY jars.txt rest-catalog.xml ./" in dockerfile
    assert "sha1sum -c" in dockerfile
    assert f'"{rest_catalog.MAIN}", "/opt/iceberg-rest/rest-catalog.xml"' in dockerfile
    assert re.search(r"^FROM eclipse-temurin:\d+\.\d+\.\d+_\d+-jre", dockerfile, re.M)
    read = set(re.findall(r'<Env name="(\w+)"', (folder / "rest-catalog.xml").read_text()))
    assert read - {"REST_HOST", "REST_PORT"} == set(service["environment"])
    local = rest_catalog.environment(Settings(mode="stack"), 8181, ("127.0.0.1", 5432), "http://s3")
    assert set(local) == read
    assert local["REST_HOST"] == "127.0.0.1"
    assert service["ports"] == ["127.0.0.1:8181:8181"]
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
