"""The Iceberg REST catalog without Docker: its jars fetched from Maven Central, started as Java.

The server is the Apache Iceberg project's own REST catalog (the servlet behind its
`iceberg-rest-fixture` image, in iceberg-core's test jar) over Iceberg's JDBC catalog, wired by
Jetty from `docker/iceberg-rest/rest-catalog.xml`: the same file and the same jars
(`docker/iceberg-rest/jars.txt`, 85 files, 47 MB) the compose stack's iceberg-rest service runs.
Its tables are the rows of the stack's `iceberg_catalog` database, so tables written before the
stack had a REST catalog are still there; its files are in the bucket.

The jars are fetched once into `~/.cache/playground/iceberg-rest-<version>/`, each checked
against the SHA-1 in jars.txt. The server itself has no authentication (the Iceberg project ships
it as a test fixture: no access control, no metrics, one JVM), so here it listens on a unix
socket only its user can reach (`docker/iceberg-rest/unix-socket.xml`), behind
`stack.catalog_gate`, which asks every connection on 127.0.0.1:<port> for this install's bearer
token (`PLAYGROUND_CATALOG_TOKEN`). `processes.stop()` ends both by the gate's PID (their process
group). `playground stack up` and the test suite start it.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from playground.config.settings import Settings, project_root
from playground.services import processes
from playground.stack import catalog_gate
from playground.stack.downloads import MAVEN, cache_dir, download, one_at_a_time
from playground.stack.runtimes import NO_PERF_DATA
from playground.stack.trino_server import Server, java_home

VERSION = "1.10.1"
FOLDER = Path("docker") / "iceberg-rest"
MAIN = "org.eclipse.jetty.xml.XmlConfiguration"
# What the recorded process runs: the gate, parent of the Java server
PROGRAM = "playground.stack.catalog_gate"


class CatalogUnavailable(RuntimeError):
    """The REST catalog cannot be fetched or started here; the message says what to do."""


@dataclass(frozen=True)
class Jar:
    path: str  # below the Maven repository's root
    sha1: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def jars() -> list[Jar]:
    """The server's classpath as `docker/iceberg-rest/jars.txt` lists it."""
    lines = (project_root() / FOLDER / "jars.txt").read_text("utf-8").splitlines()
    return [Jar(*line.split()) for line in lines if line.strip() and not line.startswith("#")]


def lib_dir(version: str = VERSION) -> Path:
    return cache_dir() / f"iceberg-rest-{version}" / "lib"


def _missing(folder: Path, listed: list[Jar]) -> list[Jar]:
    return [jar for jar in listed if not (folder / jar.name).is_file()]


def fetched() -> bool:
    """Whether every jar is in the cache (without checking their digests again)."""
    return not _missing(lib_dir(), jars())


def fetch(progress=print) -> list[Path]:
    """The server's classpath: exactly the jars jars.txt lists (no stale one from an older list),
    downloading the missing ones (one download at a time, across processes; a file appears under its
    name only once its SHA-1 matched)."""
    with one_at_a_time("rest-catalog"):
        folder, listed = lib_dir(), jars()
        missing = _missing(folder, listed)
        if missing:
            folder.mkdir(parents=True, exist_ok=True)
            progress(f"downloading the Iceberg REST catalog {VERSION} ({len(missing)} jars from "
                     f"{MAVEN}, about 47 MB, once) ...")  # fmt: skip
        for done, jar in enumerate(missing, 1):
            _download(jar, folder)
            if done % 20 == 0 and done < len(missing):
                progress(f"  {done} of {len(missing)} jars")
        return [folder / jar.name for jar in listed]


def _download(jar: Jar, folder: Path) -> None:
    url = f"{MAVEN}/{jar.path}"
    part = folder / f".{jar.name}.{os.getpid()}.part"
    try:
        digest = download(url, part)
    except OSError as exc:
        raise CatalogUnavailable(f"cannot download {url}: {exc}. Check the network.") from None
    if digest != jar.sha1:
        part.unlink(missing_ok=True)
        raise CatalogUnavailable(f"{url} does not match the SHA-1 in {FOLDER / 'jars.txt'}.")
    part.rename(folder / jar.name)


def environment(settings: Settings, port: int, pg: tuple[str, int], s3_endpoint: str) -> dict:
    """The variables `rest-catalog.xml` reads: where to listen, the catalog database, the bucket."""
    host, pg_port = pg
    return {
        "REST_HOST": "127.0.0.1",
        "REST_PORT": str(port),
        "CATALOG_NAME": settings.catalog_name,
        "CATALOG_JDBC_URL": f"jdbc:postgresql://{host}:{pg_port}/{settings.catalog_db}",
        "CATALOG_JDBC_USER": settings.pg_user,
        "CATALOG_JDBC_PASSWORD": settings.pg_password,
        "CATALOG_WAREHOUSE": settings.warehouse,
        "CATALOG_S3_ENDPOINT": s3_endpoint,
        "CATALOG_S3_REGION": settings.s3_region,
        "CATALOG_S3_ACCESS_KEY": settings.s3_access_key,
        "CATALOG_S3_SECRET_KEY": settings.s3_secret_key,
    }


def config(uri: str, timeout: float = 2, token: str = "") -> dict:
    """The server's `GET /v1/config` answer, sending `token` as a bearer token; OSError when it
    does not answer (HTTPError 401 when the token is missing or wrong)."""
    request = urllib.request.Request(f"{uri.rstrip('/')}/v1/config")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback http
        return json.load(response)


def start(settings: Settings, workdir: Path, port: int, pg: tuple[str, int], s3_endpoint: str,
          timeout: float = 60, progress=print) -> Server:  # fmt: skip
    """Start the server behind its gate on 127.0.0.1:`port`; wait until it answers
    `GET /v1/config` with the token."""
    home = java_home()
    classpath = os.pathsep.join(str(path) for path in fetch(progress))
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)  # S3FileIO's staging files go here
    log = workdir / "server.log"
    log.write_bytes(b"")  # this start's log only (each 404 a client expects logs a stack trace)
    env = {**os.environ, **environment(settings, port, pg, s3_endpoint), "JAVA_HOME": str(home),
           catalog_gate.TOKEN_VARIABLE: settings.catalog_token}  # fmt: skip
    started = time.monotonic()
    xml = [str(project_root() / FOLDER / name) for name in ("rest-catalog.xml", "unix-socket.xml")]
    process = processes.spawn(
        [sys.executable, "-m", PROGRAM, str(port), "--",
         str(home / "bin" / "java"), "-Xmx256m", "-XX:+UseSerialGC", NO_PERF_DATA,
         f"-Djava.io.tmpdir={workdir / 'tmp'}", "-cp", classpath, MAIN, *xml],
        log, env,
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise CatalogUnavailable(
                f"the Iceberg REST catalog exited (code {process.returncode}); see {log}"
            )
        try:
            config(uri, timeout=1, token=settings.catalog_token)
            break
        except (OSError, ValueError):  # not listening yet (HTTPError is an OSError too)
            time.sleep(0.2)
    else:
        processes.stop(process.pid)
        raise CatalogUnavailable(
            f"the Iceberg REST catalog did not answer in {timeout:.0f} s; see {log}"
        )
    return Server(process.pid, port, log, time.monotonic() - started)


def local_uri(uri: str) -> str:
    """`uri` with localhost spelled 127.0.0.1 (Java may resolve localhost to ::1 first)."""
    parts = urlsplit(uri)
    if parts.hostname == "localhost":
        return uri.replace("//localhost", "//127.0.0.1", 1)
    return uri
