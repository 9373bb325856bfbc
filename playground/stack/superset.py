"""`playground bi start|stop|status`: Superset without Docker, over the warehouse and the lakehouse.

Superset 6.1 cannot share the playground's environment (it pins SQLAlchemy < 2, pyarrow < 19 and
numpy < 2.3), so it gets a virtualenv of its own under `<data dir>/superset/venv`, installed once
from `docker/superset/requirements.txt` and its lock `constraints.txt`. It is set up by the compose
service's own files, `docker/superset/superset_config.py` and `init.sh` with its `init.py` (admin
from the settings, the pagila dashboard imported from `docker/superset/dashboards`, "Warehouse
(DuckDB)" read-only and, when Trino runs, "Lakehouse (Trino)"); only paths differ. The server
binds to 127.0.0.1, its PID is recorded in `<data dir>/superset/superset.json`, and `stop` ends
exactly that PID.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

from playground.config.settings import ServiceUnavailable, Settings, get_settings, project_root
from playground.engines import trino
from playground.services import processes
from playground.services.net import port_free, wait_http
from playground.services.processes import Status

SUPERSET = Path("docker") / "superset"
PROGRAM = "superset run"  # what the recorded PID must still be running
# Superset 6.1's own pins (pandas 2.1, numpy 1.26) have wheels up to Python 3.12.
PYTHONS = ((3, 11), (3, 12))


class BIError(RuntimeError):
    """Superset cannot be installed, set up or started; the message says what to do."""


def files() -> Path:
    return project_root() / SUPERSET


def home(settings: Settings) -> Path:
    return settings.data_dir / "superset"


def url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.superset_port}"


def base_python() -> str:
    """A Python Superset 6.1 runs on: this one if it is 3.11 or 3.12, else one on PATH."""
    if sys.version_info[:2] in PYTHONS:
        return sys.executable
    for major, minor in reversed(PYTHONS):
        if found := shutil.which(f"python{major}.{minor}"):
            return found
    raise BIError(
        "Superset 6.1 needs Python 3.11 or 3.12 (its pinned pandas and numpy have no wheels for "
        f"{sys.version_info.major}.{sys.version_info.minor}); install one (e.g. `uv python install "
        "3.12`) so that python3.12 is on PATH, then run `playground bi start` again."
    )


def _fingerprint(*paths: Path) -> str:
    digest = hashlib.sha256()
    found = [p for root in paths for p in ([root] if root.is_file() else root.rglob("*"))]
    for path in sorted(found):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _lock() -> str:
    return _fingerprint(files() / "requirements.txt", files() / "constraints.txt")


def installed(settings: Settings) -> bool:
    stamp = home(settings) / "venv" / "playground-installed"
    return stamp.is_file() and stamp.read_text() == _lock()


def install(settings: Settings, progress=print) -> Path:
    """Superset's virtualenv, created and installed once (again when its lock changes)."""
    venv = home(settings) / "venv"
    if installed(settings):
        return venv
    uv = Path(sys.executable).parent / "uv"
    progress(f"installing Superset 6.1 into {venv} (once: 0.7 GB, up to a minute) ...")
    shutil.rmtree(venv, ignore_errors=True)
    # the locks uv takes to build source packages (uv-setuptools-*.lock) stay in the data directory
    temporary = home(settings) / "tmp"
    temporary.mkdir(parents=True, exist_ok=True)
    for command in (
        [str(uv), "venv", "-q", "--python", base_python(), str(venv)],
        [str(uv), "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
         "-r", str(files() / "requirements.txt"), "-c", str(files() / "constraints.txt")],
    ):  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True,
                              env={**os.environ, "TMPDIR": str(temporary)})  # fmt: skip
        if done.returncode != 0:
            raise BIError(f"installing Superset failed:\n{(done.stdout + done.stderr)[-2000:]}")
    (venv / "playground-installed").write_text(_lock())
    return venv


def trino_uri(settings: Settings) -> str:
    """The lakehouse for Superset when this mode's Trino answers, else "" (not registered); with
    the local stack's login when it applies (its password: pass the URI in an environment)."""
    if not settings.is_stack:
        return ""
    try:
        trino.info(settings, timeout=1)
    except ServiceUnavailable:
        return ""
    address = f"{settings.trino_host}:{settings.trino_port}/iceberg"
    login = trino.local_login(settings)
    if login:
        return (
            f"trino://{quote(login['user'], safe='')}:{quote(login['password'], safe='')}@{address}"
        )
    return f"trino://{settings.trino_user}@{address}"


def trino_extra(settings: Settings) -> str:
    """The database's `extra` for the local stack's Trino (HTTPS, its certificate), else ""."""
    login = trino.local_login(settings)
    return https_extra(login["certificate"]) if login else ""


def https_extra(certificate: str) -> str:
    """A Trino database's `extra`: HTTPS, the server verified against `certificate` (a PEM file
    as the Superset process sees it; the compose stack's TRINO_EXTRA is this, for its mount)."""
    args = {"http_scheme": "https", "verify": certificate}
    return json.dumps({"engine_params": {"connect_args": args}})


def environment(settings: Settings) -> dict[str, str]:
    """What superset_config.py and init.py read, for this machine's paths."""
    bin_dir = home(settings) / "venv" / "bin"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VIRTUAL_ENV", "PYTHON"))  # the playground's, not Superset's
    }
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        SUPERSET_CONFIG_PATH=str(files() / "superset_config.py"),
        SUPERSET_SECRET_KEY=settings.superset_secret_key,
        SUPERSET_METADATA_URI=f"sqlite:///{home(settings) / 'superset.db'}",
        SUPERSET_ADMIN_USER=settings.superset_admin_user,
        SUPERSET_ADMIN_PASSWORD=settings.superset_admin_password,
        DASHBOARDS_DIR=str(files() / "dashboards"),
        WAREHOUSE_URI=f"duckdb:///{settings.duckdb_path}?access_mode=read_only",
        TRINO_URI=trino_uri(settings),
        TRINO_EXTRA=trino_extra(settings),
        TRINO_PASSWORD="",  # the compose stack's; here TRINO_URI carries the password
        TRINO_USER=settings.trino_user,
    )
    # requests lets these replace a connection's own `verify` (the Trino certificate its
    # `extra` names); Superset here makes no other HTTPS request
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        env.pop(variable, None)
    return env


def initialise(settings: Settings, progress=print, env: dict[str, str] | None = None) -> None:
    """Run init.sh (the compose service's) unless it already ran with the same files; when only
    the admin's password or Trino's URI changed, run just what applies it (a Superset command
    each, not the whole set-up: Trino coming up or going away is common).

    `env` is `environment(settings)` when the caller has it already (it probes Trino)."""
    env = env or environment(settings)
    scripts = _fingerprint(*(files() / name for name in (
        "init.sh", "init.py", "lakehouse.py", "dashboards")))  # fmt: skip
    # the stamp holds digests (of the scripts, of the Trino URI, which may carry Trino's
    # password, of the admin's user and password), never a password itself
    wanted = [scripts, _digest(env["TRINO_URI"]), *(
        _digest(env[k]) for k in ("SUPERSET_ADMIN_USER", "SUPERSET_ADMIN_PASSWORD"))]  # fmt: skip
    stamp = home(settings) / "initialised"
    found = stamp.read_text().split() if stamp.is_file() else []
    if found == wanted:
        return
    if len(found) == len(wanted) and found[0] == scripts and found[2] == wanted[2]:
        # init.sh keeps a lakehouse registered when Trino is not running: only a new URI is news
        if found[1] != wanted[1] and env["TRINO_URI"]:
            progress("registering Trino as Superset's lakehouse ...")
            _superset(["python", str(files() / "lakehouse.py")], env, home(settings))
        if found[3] != wanted[3]:
            progress("applying the changed Superset admin password ...")
            command = ["superset", "fab", "reset-password", "--username",
                       env["SUPERSET_ADMIN_USER"]]  # fmt: skip
            _superset(command, env, home(settings))
    else:
        progress("setting Superset up (admin, the pagila dashboard, the databases) ...")
        _superset(["sh", str(files() / "init.sh")], env, home(settings))
    stamp.write_text(" ".join(wanted))


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def _superset(command: list[str], env: dict[str, str], cwd: Path) -> None:
    """Run a Superset command (or init.sh) with the admin's password on stdin for its prompts.

    A new session has no terminal, so the prompts read stdin instead of the learner's terminal;
    the password never appears on a command line, which other users see in `ps`.
    """
    password = env["SUPERSET_ADMIN_PASSWORD"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=cwd,
                          input=f"{password}\n{password}\n", start_new_session=True)  # fmt: skip
    if done.returncode != 0:
        output = _redact(done.stdout + done.stderr, env)
        raise BIError(f"Superset's {Path(command[-1]).name} failed:\n{output[-3000:]}")


def _redact(text: str, env: dict[str, str]) -> str:
    """`text` without the secrets `env` carries (an error is shown, a secret never)."""
    for key in ("SUPERSET_SECRET_KEY", "SUPERSET_ADMIN_PASSWORD"):
        if env.get(key):
            text = text.replace(env[key], "***")
    return text


def _record_path(settings: Settings) -> Path:
    return home(settings) / "superset.json"


def start(settings: Settings | None = None, progress=print) -> Status:
    """Install, set up and serve Superset on 127.0.0.1 (idempotent)."""
    settings = settings or get_settings()
    if processes.running(_record_path(settings)):
        return status(settings)
    if not port_free(settings.superset_port):
        raise BIError(
            f"port {settings.superset_port} is in use: stop what uses it, or set "
            "PLAYGROUND_SUPERSET_PORT to a free port."
        )
    home(settings).mkdir(parents=True, exist_ok=True)
    install(settings, progress)
    env = environment(settings)
    initialise(settings, progress, env)
    command = [str(home(settings) / "venv" / "bin" / "superset"), "run", "-h", "127.0.0.1",
               "-p", str(settings.superset_port), "--with-threads"]  # fmt: skip
    log = home(settings) / "superset.log"
    server = processes.spawn(command, log, env)
    processes.record(_record_path(settings), server.pid, settings.superset_port, PROGRAM)
    if wait_http(url(settings) + "/health", 120, server) is None:
        processes.stop(server.pid)
        _record_path(settings).unlink(missing_ok=True)
        raise BIError(f"Superset did not answer {url(settings)}/health; see {log}")
    return status(settings)


def stop(settings: Settings | None = None) -> Status:
    settings = settings or get_settings()
    found = processes.running(_record_path(settings))
    if found is None:
        return Status(False, "Superset was not running")
    processes.stop(found["pid"], port=found["port"])
    _record_path(settings).unlink(missing_ok=True)
    return Status(False, f"stopped Superset (pid {found['pid']})")


def status(settings: Settings | None = None) -> Status:
    settings = settings or get_settings()
    found = processes.running(_record_path(settings))
    if found is None:
        installed_note = "installed" if installed(settings) else "not installed yet"
        return Status(False, f"Superset not running ({installed_note}): `playground bi start`")
    return Status(
        True,
        f"Superset at {url(settings)} (pid {found['pid']}), admin "
        f"{settings.superset_admin_user!r}, dashboard {url(settings)}/superset/dashboard/pagila/",
    )


class Client:
    """Superset's REST API as the admin (stdlib only), as the tests use it."""

    def __init__(self, settings: Settings | None = None, timeout: float = 30):
        self.settings = settings or get_settings()
        self.timeout = timeout
        self._token = self._csrf = ""  # until the login below sets them
        jar = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        self._token = self.call("POST", "/api/v1/security/login", {
            "username": self.settings.superset_admin_user,
            "password": self.settings.superset_admin_password,
            "provider": "db",
        })["access_token"]  # fmt: skip
        # Writes through the API also need the session's CSRF token (its cookie is in the jar).
        self._csrf = self.call("GET", "/api/v1/security/csrf_token/")["result"]

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url(self.settings) + path, data=data, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        if method != "GET" and self._csrf:
            request.add_header("X-CSRFToken", self._csrf)
            request.add_header("Referer", url(self.settings))
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise BIError(f"Superset {method} {path}: {exc.code} {exc.read()[:500]!r}") from None

    def database_names(self) -> set[str]:
        found = self.call("GET", "/api/v1/database/?q=(page_size:100)")["result"]
        return {database["database_name"] for database in found}

    def dashboard_charts(self, slug: str = "pagila") -> list[dict]:
        return self.call("GET", f"/api/v1/dashboard/{slug}/charts")["result"]

    def chart_rows(self, chart_id: int) -> list[dict]:
        """The rows a chart shows, from its saved query (the chart data API)."""
        return self.call("GET", f"/api/v1/chart/{chart_id}/data/")["result"][0]["data"]
