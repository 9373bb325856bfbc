"""Metabase and Superset of the stack: their build and setup scripts, offline; health when up.

The scripts run for real here against servers on 127.0.0.1: a plain file server standing in for
GitHub's release API (fetch_driver.py), and FakeMetabase, a test double of the few Metabase API
endpoints setup.py calls. Neither is Metabase or GitHub; the live checks at the end are the
ones that talk to the real services, when the stack is up.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import subprocess
import threading
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from playground.config.settings import get_settings
from tests.helpers import BIN, ROOT

DOCKER = ROOT / "docker"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fetch_driver = _load(DOCKER / "metabase" / "fetch_driver.py")
metabase_setup = _load(DOCKER / "metabase" / "setup.py")
lakehouse = _load(DOCKER / "superset" / "lakehouse.py")


@contextmanager
def _serve(handler_class):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- the DuckDB driver download -------------------------------------------------------------

JAR = b"PK\x03\x04 a jar's bytes"


def _release_server(assets: list[dict]):
    class Releases(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            if self.path == "/repos/motherduckdb/metabase_duckdb_driver/releases/tags/1.5.5.0":
                base = f"http://127.0.0.1:{self.server.server_address[1]}"
                body = json.dumps({"assets": [
                    {**a, "browser_download_url": f"{base}/download/{a['name']}"} for a in assets
                ]}).encode()  # fmt: skip
            elif self.path.startswith("/download/"):
                body = JAR
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return _serve(Releases)


MUSL_AMD64 = "duckdb-linux_amd64_musl.metabase-driver.jar"
GOOD = hashlib.sha256(JAR).hexdigest()


def test_driver_is_written_only_when_its_published_digest_matches(tmp_path) -> None:
    out = tmp_path / "plugins" / "duckdb.metabase-driver.jar"
    with _release_server([{"name": MUSL_AMD64, "digest": f"sha256:{GOOD}"}]) as api:
        assert fetch_driver.fetch("1.5.5.0", "amd64", out, api=api) == GOOD
        assert out.read_bytes() == JAR
        # a pinned checksum equal to the published one is accepted too
        assert fetch_driver.main(["--version", "1.5.5.0", "--arch", "amd64", "--out",
                                  str(out), "--sha256", GOOD, "--api", api]) == 0  # fmt: skip
    bad = "0" * 64
    out.unlink()
    with _release_server([{"name": MUSL_AMD64, "digest": f"sha256:{bad}"}]) as api:
        with pytest.raises(fetch_driver.FetchError, match=f"SHA-256 {GOOD} does not match"):
            fetch_driver.fetch("1.5.5.0", "amd64", out, api=api)
        with pytest.raises(fetch_driver.FetchError, match="differs from GitHub's published"):
            fetch_driver.fetch("1.5.5.0", "amd64", out, sha256=GOOD, api=api)
    assert not out.exists()


def test_driver_without_any_digest_or_asset_fails_the_build(tmp_path, capsys) -> None:
    out = tmp_path / "driver.jar"
    with _release_server([{"name": MUSL_AMD64, "digest": None}]) as api:
        with pytest.raises(fetch_driver.FetchError, match="no digest.*pass --sha256"):
            fetch_driver.fetch("1.5.5.0", "amd64", out, api=api)
        assert fetch_driver.fetch("1.5.5.0", "amd64", out, sha256=GOOD, api=api) == GOOD
        with pytest.raises(fetch_driver.FetchError, match="has no asset duckdb-linux_arm64_musl"):
            fetch_driver.fetch("1.5.5.0", "arm64", out, api=api)
        args = ["--version", "9.9.9.9", "--arch", "amd64", "--out", str(out), "--api", api]
        assert fetch_driver.main(args) == 1
    assert "cannot read release 9.9.9.9" in capsys.readouterr().err
    with pytest.raises(fetch_driver.FetchError, match="no driver build for architecture 's390x'"):
        fetch_driver.fetch("1.5.5.0", "s390x", out)


# --- Metabase's first-start setup -------------------------------------------------------------


class FakeMetabase(BaseHTTPRequestHandler):
    """Test double of Metabase's setup/session/database/card/dashboard endpoints (not Metabase)."""

    state: dict = {}

    def _reply(self, code: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        return self.headers.get("X-Metabase-Session") in self.state["sessions"]

    def do_GET(self):  # noqa: N802
        state = self.state
        if self.path == "/api/health":
            self._reply(200, {"status": "ok"})
        elif self.path == "/api/session/properties":
            self._reply(
                200, {"setup-token": state["token"], "has-user-setup": bool(state["admin"])}
            )
        elif self.path == "/api/database" and self._authorized():
            self._reply(200, {"data": state["databases"], "total": len(state["databases"])})
        elif self.path in ("/api/card", "/api/dashboard") and self._authorized():
            self._reply(200, state[self.path.rsplit("/", 1)[1]])
        else:
            self._reply(401, "Unauthenticated")

    def do_PUT(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.state["calls"].append((self.path, body))
        kind, number = self.path.rsplit("/", 1)
        items = self.state["dashboard" if kind == "/api/dashboard" else "databases"]
        if not (self._authorized() and 0 < int(number) <= len(items)):
            self._reply(404, "Not found")
        elif kind == "/api/dashboard":
            items[int(number) - 1]["dashcards"] = body["dashcards"]
            self._reply(200, items[int(number) - 1])
        else:  # a database's connection, replaced
            items[int(number) - 1].update(body)
            self._reply(200, items[int(number) - 1])

    def do_POST(self):  # noqa: N802
        state = self.state
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        state["calls"].append((self.path, body))
        if self.path == "/api/setup":
            if state["admin"] or body["token"] != state["token"]:
                self._reply(403, "setup is done")
                return
            state["admin"] = body["user"]
            state["sessions"].add("s1")
            self._reply(200, {"id": "s1"})
        elif self.path == "/api/session":
            admin = state["admin"]
            if admin and (body["username"], body["password"]) == (
                admin["email"],
                admin["password"],
            ):
                state["sessions"].add("s2")
                self._reply(200, {"id": "s2"})
            else:
                self._reply(401, {"errors": {"password": "did not match stored password"}})
        elif self.path == "/api/database" and self._authorized():
            if state.get("echo"):  # a Metabase whose error repeats the request, password and all
                self._reply(400, {"message": "cannot connect", "details": body})
                return
            state["databases"].append({"id": len(state["databases"]) + 1, **body})
            self._reply(200, state["databases"][-1])
        elif self.path in ("/api/card", "/api/dashboard") and self._authorized():
            items = state[self.path.rsplit("/", 1)[1]]
            items.append({"id": len(items) + 1, **body})
            self._reply(200, items[-1])
        else:
            self._reply(401, "Unauthenticated")

    def log_message(self, *args):
        pass


TRINO_PASSWORD = "Trino-pass %41 @:/ é"  # quoting and percent signs must survive


def _env(url: str, password: str = "Playground-metabase-1") -> dict[str, str]:
    return {
        "METABASE_URL": url, "MB_ADMIN_EMAIL": "admin@example.com",
        "MB_ADMIN_PASSWORD": password, "TRINO_HOST": "trino", "TRINO_PORT": "8443",
        "TRINO_USER": "playground", "TRINO_PASSWORD": TRINO_PASSWORD,
        "TRINO_CERTIFICATE": "/etc/playground/trino/certificate.pem", "TRINO_CATALOG": "iceberg",
        "DUCKDB_FILE": "/warehouse/playground.duckdb",
    }  # fmt: skip


def test_metabase_setup_creates_the_admin_once_and_each_database_once() -> None:
    FakeMetabase.state = {"token": "tok-123", "admin": None, "sessions": set(), "databases": [],
                          "card": [], "dashboard": [], "calls": []}  # fmt: skip
    lines: list[str] = []
    questions = json.loads((DOCKER / "metabase" / "questions.json").read_text())["questions"]
    with _serve(FakeMetabase) as url:
        added = metabase_setup.setup(_env(url), wait_seconds=5, print_=lines.append)
        names = [q["name"] for q in questions]
        assert added == ["Lakehouse (Trino)", "Warehouse (DuckDB)", *names, "pagila"]
        state = FakeMetabase.state
        assert state["admin"]["email"] == "admin@example.com"
        setup_call = state["calls"][0]
        assert setup_call[0] == "/api/setup" and setup_call[1]["token"] == "tok-123"
        assert setup_call[1]["prefs"]["allow_tracking"] is False
        trino_db, duck_db = state["databases"]
        assert (trino_db["engine"], trino_db["details"]) == ("starburst", {
            "host": "trino", "port": 8443, "catalog": "iceberg", "user": "playground",
            "password": TRINO_PASSWORD, "ssl": True,
            "additional-options": "SSLTrustStorePath=/etc/playground/trino/certificate.pem",
        })  # fmt: skip
        assert duck_db["engine"] == "duckdb"
        assert duck_db["details"] == {
            "database_file": "/warehouse/playground.duckdb", "read_only": True,
        }  # fmt: skip
        # every question is native SQL on the warehouse, and the dashboard holds each once
        assert [c["name"] for c in state["card"]] == names
        for card, question in zip(state["card"], questions, strict=True):
            assert card["dataset_query"] == {"type": "native", "database": duck_db["id"],
                                             "native": {"query": question["sql"]}}  # fmt: skip
        (board,) = state["dashboard"]
        assert board["name"] == "pagila"
        assert sorted(d["card_id"] for d in board["dashcards"]) == [c["id"] for c in state["card"]]
        calls = len(state["calls"])
        # the next `docker compose up` logs in, sets Trino's connection again and adds nothing
        assert metabase_setup.setup(_env(url), wait_seconds=5, print_=lines.append) == []
        assert [c[0] for c in state["calls"][calls:]] == ["/api/session", "/api/database/1"]
        assert state["calls"][-1][1]["details"] == trino_db["details"]
        assert len(state["databases"]) == 2
        assert lines[-1] == "database 'Warehouse (DuckDB)' already registered"
        with pytest.raises(metabase_setup.SetupError, match="POST /api/session: HTTP 401"):
            metabase_setup.setup(_env(url, password="wrong"), wait_seconds=5)


def test_metabase_setup_gives_an_earlier_plain_registration_the_login() -> None:
    """A Metabase set up before Trino asked for a login has "Lakehouse (Trino)" on the plain port
    without SSL: the next run replaces that connection, keeping the database (its id)."""
    admin = {"email": "admin@example.com", "password": "Playground-metabase-1"}
    plain = {"id": 1, "name": "Lakehouse (Trino)", "engine": "starburst", "details": {
        "host": "trino", "port": 8080, "catalog": "iceberg", "user": "playground", "ssl": False,
    }}  # fmt: skip
    FakeMetabase.state = {"token": "tok", "admin": admin, "sessions": set(), "databases": [plain],
                          "card": [], "dashboard": [], "calls": []}  # fmt: skip
    with _serve(FakeMetabase) as url:
        added = metabase_setup.setup(_env(url), wait_seconds=5, print_=lambda _line: None)
    assert added[0] == "Warehouse (DuckDB)" and "Lakehouse (Trino)" not in added
    trino_db, _warehouse = FakeMetabase.state["databases"]
    assert trino_db["id"] == 1
    details = trino_db["details"]
    assert (details["port"], details["ssl"], details["password"]) == (8443, True, TRINO_PASSWORD)
    assert (
        details["additional-options"] == "SSLTrustStorePath=/etc/playground/trino/certificate.pem"
    )


def test_metabase_gets_what_the_compose_file_gives_metabase_init(tmp_path) -> None:
    """The payload setup.py sends, from metabase-init's environment as Docker resolves it from
    `make secrets`' values: Trino's HTTPS port, SSL on, the password from .env, and the JDBC
    trust store set to the certificate where the metabase service (whose JVM connects) mounts
    it, which trino-login fills with the certificate alone."""
    from playground.config import secrets
    from tests.stack.test_compose_config import _mounts, _resolve, _trino_config

    values = {secrets.variable(field): make() for field, make in secrets.GENERATED.items()}
    values["PLAYGROUND_TRINO_PASSWORD"] = TRINO_PASSWORD
    resolved = yaml.safe_load(_resolve((ROOT / "docker-compose.yml").read_text(), values))
    services = resolved["services"]
    env = {k: str(v) for k, v in services["metabase-init"]["environment"].items()}
    FakeMetabase.state = {"token": "tok", "admin": None, "sessions": set(), "databases": [],
                          "card": [], "dashboard": [], "calls": []}  # fmt: skip
    with _serve(FakeMetabase) as url:
        metabase_setup.setup({**env, "METABASE_URL": url}, wait_seconds=5, print_=lambda _: None)
    (posted,) = [body for path, body in FakeMetabase.state["calls"] if path == "/api/database"
                 and body["name"] == "Lakehouse (Trino)"]  # fmt: skip
    details = posted["details"]
    https_port = _trino_config(resolved, "trino")["http-server.https.port"]
    assert (details["host"], details["port"]) == ("trino", int(https_port))
    assert details["ssl"] is True
    assert (details["user"], details["password"]) == ("playground", TRINO_PASSWORD)
    option, _, certificate = details["additional-options"].partition("=")
    assert option == "SSLTrustStorePath"
    folder, name = certificate.rsplit("/", 1)
    assert _mounts(services["metabase"])[folder] == "trino-certificate"
    assert name == "certificate.pem"  # trino_tls.ensure's public certificate
    copier = " ".join(services["trino-login"]["command"])
    assert "install -m 0444 -t /certificate /from/certificate.pem" in copier
    assert _mounts(services["trino-login"])["/certificate"] == "trino-certificate"


def test_metabase_setup_never_prints_a_password(monkeypatch, capsys) -> None:
    """A Metabase whose error repeats the request (the password in it): shown without it."""
    FakeMetabase.state = {"token": "tok", "admin": None, "sessions": set(), "databases": [],
                          "card": [], "dashboard": [], "calls": [], "echo": True}  # fmt: skip
    with _serve(FakeMetabase) as url:
        for name, value in _env(url).items():
            monkeypatch.setenv(name, value)
        assert metabase_setup.main() == 1
    err = capsys.readouterr().err
    assert "POST /api/database: HTTP 400" in err and "cannot connect" in err
    assert TRINO_PASSWORD not in err and json.dumps(TRINO_PASSWORD)[1:-1] not in err
    assert "***" in err


@hypothesis_settings(deadline=None)  # the first call imports SQLAlchemy
@example(password="p@ss:w/rd#?&=+")
@example(password="100%41")
@given(password=st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
                        min_size=1))  # fmt: skip
def test_superset_gets_any_trino_password_back_whole(password: str) -> None:
    """init.sh's lakehouse.py sets the compose stack's TRINO_PASSWORD into TRINO_URI: whatever
    its characters, SQLAlchemy reads back that password, user and address."""
    from sqlalchemy.engine import make_url

    environ = {"TRINO_URI": "trino://playground@trino:8443/iceberg", "TRINO_PASSWORD": password}
    url = make_url(lakehouse.uri(environ))
    assert (url.username, url.password) == ("playground", password)
    assert (url.host, url.port, url.database) == ("trino", 8443, "iceberg")
    # a URI that carries its password (`playground bi`'s) is left as it is
    assert lakehouse.uri({**environ, "TRINO_PASSWORD": ""}) == environ["TRINO_URI"]


@pytest.mark.parametrize("password", ["Tr%41no", "Trino-ש", "Trino-😀"])
def test_superset_refuses_a_password_it_cannot_send(monkeypatch, password) -> None:
    """Measured against a real Trino: Superset 6.1 loses a `%` when it renders its stored URI
    again (SQLAlchemy 1.4: 401 at query time), and the trino client's Basic credentials are
    Latin-1 (UnicodeEncodeError). lakehouse.py stops first, in one line, without the password."""
    monkeypatch.setenv("TRINO_URI", "trino://playground@trino:8443/iceberg")
    monkeypatch.setenv("TRINO_PASSWORD", password)
    with pytest.raises(SystemExit) as stopped:
        lakehouse.main()
    message = str(stopped.value.code)
    assert message.startswith("Superset cannot use this Trino password")
    assert "set another PLAYGROUND_TRINO_PASSWORD in .env" in message
    assert password not in message and "\n" not in message
    assert lakehouse.unusable("Trino pass@:/#?&=+é") == ""  # this one logged in (measured)


def test_metabase_setup_reports_an_unreachable_metabase_and_missing_settings(monkeypatch) -> None:
    from tests.helpers import free_port

    with pytest.raises(metabase_setup.SetupError, match="is not healthy after 0 s"):
        metabase_setup.setup(_env(f"http://127.0.0.1:{free_port()}"), wait_seconds=0)
    for name in _env("x"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("METABASE_URL", "http://127.0.0.1:1")
    assert metabase_setup.main() == 2


# --- images and scripts, checked offline --------------------------------------------------------


def test_dockerfiles_pass_hadolint(tmp_path) -> None:
    dockerfiles = sorted(DOCKER.glob("*/Dockerfile"))
    assert [p.parent.name for p in dockerfiles] == [
        "iceberg-rest",
        "metabase",
        "pagila-seed",
        "superset",
    ]
    result = subprocess.run([str(BIN / "hadolint"), *map(str, dockerfiles)],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM python\nRUN cd /tmp && pip install x\n")
    result = subprocess.run([str(BIN / "hadolint"), str(broken)], capture_output=True,
                            text=True, check=False)  # fmt: skip
    assert result.returncode == 1 and "DL3006" in result.stdout  # untagged image


def test_images_and_driver_versions_are_pinned_and_agree() -> None:
    constraints = dict(
        re.findall(r"^([\w.-]+)==([^\s;]+)", (ROOT / "constraints.txt").read_text(), re.MULTILINE)
    )
    for dockerfile in DOCKER.glob("*/Dockerfile"):
        for image in re.findall(r"^FROM (\S+)", dockerfile.read_text(), re.MULTILINE):
            assert re.search(r":v?\d+\.\d+\.\d+", image), (dockerfile, image)
    superset = (DOCKER / "superset" / "Dockerfile").read_text()
    for package in ("trino", "duckdb-engine", "duckdb"):
        pin = re.search(rf"\b{package}==(\S+)", superset).group(1)
        assert pin == constraints[package], package
    # the Metabase driver embeds DuckDB <version>.<build>; it must read the library's files
    driver = COMPOSE["services"]["metabase"]["build"]["args"]["DUCKDB_DRIVER_VERSION"]
    assert driver.rsplit(".", 1)[0] == constraints["duckdb"]
    assert f"DUCKDB_DRIVER_VERSION={driver}" in (DOCKER / "metabase" / "Dockerfile").read_text()
    for name, folder in (("metabase", "metabase"), ("superset", "superset"),
                         ("superset-init", "superset")):  # fmt: skip
        assert COMPOSE["services"][name]["build"]["context"] == f"./docker/{folder}", name
    assert COMPOSE["services"]["metabase-init"]["image"] == re.search(
        r"^FROM (\S+) AS driver", (DOCKER / "metabase" / "Dockerfile").read_text(), re.MULTILINE
    ).group(1)


def test_superset_scripts_parse() -> None:
    result = subprocess.run(["sh", "-n", str(DOCKER / "superset" / "init.sh")],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    compile((DOCKER / "superset" / "superset_config.py").read_text(), "superset_config.py", "exec")
    assert 'exec python "$(dirname "$0")/init.py"' in (DOCKER / "superset" / "init.sh").read_text()
    init = (DOCKER / "superset" / "init.py").read_text()
    assert '"duckdb:////warehouse/playground.duckdb?access_mode=read_only"' in init
    assert "import lakehouse" in init and "lakehouse.main(app)" in init
    for script in ("init.py", "lakehouse.py"):
        compile((DOCKER / "superset" / script).read_text(), script, "exec")
    dockerfile = (DOCKER / "superset" / "Dockerfile").read_text()
    # init.py and lakehouse.py lie beside init.sh in the image, as in the repository
    assert "init.sh /app/docker/playground-init.sh" in dockerfile
    assert "init.py /app/docker/init.py" in dockerfile
    assert "lakehouse.py /app/docker/lakehouse.py" in dockerfile
    server = COMPOSE["services"]["superset"]["environment"]
    environment = COMPOSE["services"]["superset-init"]["environment"]
    # the one-shot gets Trino's login; the long-running server only what it needs
    assert set(environment) - set(server) == {"TRINO_URI", "TRINO_PASSWORD", "TRINO_EXTRA"}
    assert {k: environment[k] for k in server} == server
    for variable in set(re.findall(r"\$\{(\w+)\}", init)) | {"SUPERSET_SECRET_KEY"}:
        assert variable in environment, variable


# --- the real services, when the stack is up ---------------------------------------------------


def _health_or_skip(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - loopback
            text = response.read().decode()
    except OSError:
        pytest.skip(f"{url} does not answer: start the stack with `docker compose up --wait`")
    return json.loads(text) if text.startswith("{") else {"text": text}


@pytest.mark.bi
def test_metabase_is_healthy_and_has_both_databases() -> None:
    settings = get_settings()
    base = f"http://127.0.0.1:{settings.metabase_port}"
    assert _health_or_skip(f"{base}/api/health") == {"status": "ok"}
    metabase = metabase_setup.Metabase(base)
    metabase.session = metabase.call("POST", "/api/session", {
        "username": settings.metabase_admin_email, "password": settings.metabase_admin_password,
    })["id"]  # fmt: skip
    assert {"Lakehouse (Trino)", "Warehouse (DuckDB)"} <= metabase.database_names()


@pytest.mark.bi
def test_superset_is_healthy() -> None:
    settings = get_settings()
    assert _health_or_skip(f"http://127.0.0.1:{settings.superset_port}/health") == {"text": "OK"}


def test_the_dashboard_files_hang_together_and_ship_in_the_image() -> None:
    """docker/superset/dashboards/pagila, checked offline: every chart's dataset, every dataset's
    database and every chart on the dashboard is in the bundle; the image and init.py agree on
    where it lies; Metabase's questions are the same charts."""
    import yaml

    bundle = DOCKER / "superset" / "dashboards" / "pagila"

    def load(pattern: str) -> list[dict]:
        return [yaml.safe_load(path.read_text()) for path in sorted(bundle.glob(pattern))]

    (database,), (dashboard,) = load("databases/*.yaml"), load("dashboards/*.yaml")
    datasets, charts = load("datasets/*/*.yaml"), load("charts/*.yaml")
    uri = "duckdb:////warehouse/playground.duckdb?access_mode=read_only"
    assert database["sqlalchemy_uri"] == uri
    assert {d["database_uuid"] for d in datasets} == {database["uuid"]}
    assert {d["schema"] for d in datasets} == {"marts"}
    assert {c["dataset_uuid"] for c in charts} <= {d["uuid"] for d in datasets}
    placed = [v["meta"]["uuid"] for v in dashboard["position"].values()
              if isinstance(v, dict) and v.get("type") == "CHART"]  # fmt: skip
    assert sorted(placed) == sorted(c["uuid"] for c in charts)
    assert dashboard["slug"] == "pagila"
    dockerfile = (DOCKER / "superset" / "Dockerfile").read_text()
    assert "COPY dashboards /app/docker/dashboards" in dockerfile
    init = (DOCKER / "superset" / "init.py").read_text()
    assert 'os.environ.get("DASHBOARDS_DIR") or "/app/docker/dashboards"' in init
    questions = json.loads((DOCKER / "metabase" / "questions.json").read_text())["questions"]
    assert sorted(q["name"] for q in questions) == sorted(c["slice_name"] for c in charts)
