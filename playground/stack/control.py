"""`playground stack up|down|status`: the compose stack's services as local processes, no Docker.

For learners without Docker who want the Trino lesson. Three services, on the ports the stack
settings name (the compose stack's defaults, so `PLAYGROUND_MODE=stack` works unchanged):

- **PostgreSQL**: the embedded server (its pagila and the `iceberg_catalog` database the compose
  stack's init SQL makes), reached over TCP through a small forwarder to its unix socket;
- **S3**: versitygw serving `<data dir>/stack/s3/data` (`stack.s3_server`), so the warehouse is
  plain files that survive `stack down` and a reboot;
- **the Iceberg REST catalog** in front of the catalog database (`stack.rest_catalog`): PyIceberg,
  DuckDB and Trino all read and write the lakehouse through it;
- **Trino** 476 with the compose stack's own catalog files (`playground.stack.trino_server`).

Every process binds to 127.0.0.1. Each one's PID is recorded in `<data dir>/stack/<name>.json`,
and `down` stops exactly those PIDs (checking each still runs the recorded program). `down` stops
the embedded PostgreSQL too when `up` started it and no one else is connected; one that ran before
`up` (embedded mode's, `make run`'s) keeps running (`playground services stop`).
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from playground.config.settings import ServiceUnavailable, Settings, get_settings
from playground.datasets.pagila import seed
from playground.services import postgres, processes
from playground.services.net import port_free, port_open, wait_port
from playground.stack import pg_roles, rest_catalog, s3_server, trino_server

SERVICES = ("postgres", "s3", "catalog", "trino")
# What each service's recorded process runs (a word of its command line)
PROGRAMS = {"postgres": "playground.stack.tcp_proxy", "s3": "versitygw",
            "catalog": rest_catalog.PROGRAM, "trino": "io.trino.server.TrinoServer"}  # fmt: skip


class StackError(RuntimeError):
    """The local stack cannot start; the message says what to change."""


@dataclass(frozen=True)
class Line:
    service: str
    ok: bool
    detail: str


def stack_settings(settings: Settings | None = None) -> Settings:
    """The settings in stack mode, whatever PLAYGROUND_MODE says."""
    return replace(settings or get_settings(), mode="stack")


def _state(settings: Settings, service: str) -> Path:
    return settings.data_dir / "stack" / f"{service}.json"


def ports(settings: Settings) -> dict[str, tuple[str, int]]:
    """Each service's host and port, from the stack settings; StackError unless on this machine."""
    s3, rest = urlsplit(settings.s3_endpoint), urlsplit(settings.catalog_uri)
    found = {
        "postgres": (settings.pg_host, settings.pg_port),
        "s3": (s3.hostname or "", s3.port or 80),
        "catalog": (rest.hostname or "", rest.port or 80),
        "trino": (settings.trino_host, settings.trino_port),
    }
    for service, (host, _) in found.items():
        if host not in ("localhost", "127.0.0.1"):
            raise StackError(
                f"the local stack serves {service} on 127.0.0.1, but the settings point at "
                f"{host!r}. Unset that host (see .env.example) or use the compose stack."
            )
    return found


def _running(settings: Settings, service: str) -> dict | None:
    """The recorded process of `service` if it still runs the recorded program."""
    return processes.running(_state(settings, service))


def _record(settings: Settings, service: str, pid: int, port: int, program: str) -> None:
    processes.record(_state(settings, service), pid, port, program)


def up(settings: Settings | None = None, progress=print) -> list[Line]:
    """Start what is not running yet; idempotent. Returns `status()` after."""
    stack = stack_settings(settings)
    embedded = replace(stack, mode="embedded")
    wanted = ports(stack)
    for service, (_, port) in wanted.items():
        record = _running(stack, service)
        if record is not None and record["port"] != port:
            raise StackError(
                f"{service} of the local stack runs on port {record['port']}, not {port} as the "
                f"settings now say ({_variable(service)}). Run `playground stack down` first."
            )
        if record is None and not port_free(port) and not _stop_orphan(service, port, progress):
            raise StackError(
                f"port {port} for {service} is taken by another program. Stop it, or pick a free "
                f"port in .env ({_variable(service)})."
            )
    trino_server.java_home()  # fail before starting anything when Java is missing
    s3_server.binary(progress)
    rest_catalog.fetch(progress)
    logs = stack.data_dir / "stack"
    logs.mkdir(parents=True, exist_ok=True)
    if postgres.running(embedded) is None:
        _started_server(stack).touch()  # before the start: a crash in it still leaves the mark
    postgres.start(embedded, progress)
    if _running(stack, "postgres") is None:
        port = wanted["postgres"][1]
        # the forwarder finds the embedded server's port at each connection (from its data
        # directory), so a `services stop` and `start` in between, on a new port, is followed
        proxy = processes.spawn(
            [sys.executable, "-m", PROGRAMS["postgres"], str(embedded.pgdata), str(port)],
            logs / "postgres.log",
        )
        if not wait_port(port, 30, proxy):
            raise StackError(
                f"the PostgreSQL forwarder did not listen; see {logs / 'postgres.log'}"
            )
        _record(stack, "postgres", proxy.pid, port, PROGRAMS["postgres"])
        progress(f"PostgreSQL: 127.0.0.1:{port} (the embedded server)")
    pg_roles.prepare(embedded, stack)
    seed.seed(stack.pagila_scale, database=stack.pagila_db, if_missing=True, progress=progress)
    pg_roles.share_pagila(embedded, stack)
    if _running(stack, "s3") is None:
        port = wanted["s3"][1]
        pid = s3_server.start(stack, logs / "s3", port, logs / "s3.log", progress=progress)
        _record(stack, "s3", pid, port, PROGRAMS["s3"])
        progress(f"S3: http://127.0.0.1:{port}, data in {logs / 's3' / 'data'}")
    if _running(stack, "catalog") is None:
        port = wanted["catalog"][1]
        catalog = rest_catalog.start(stack, logs / "catalog", port,
                                     ("127.0.0.1", wanted["postgres"][1]), stack.s3_endpoint,
                                     progress=progress)  # fmt: skip
        _record(stack, "catalog", catalog.pid, port, PROGRAMS["catalog"])
        progress(f"Iceberg REST catalog: http://127.0.0.1:{port} "
                 f"(ready in {catalog.seconds_to_start:.1f} s)")  # fmt: skip
    if _running(stack, "trino") is None:
        port = wanted["trino"][1]
        progress("starting Trino (about 30-60 s) ...")
        server = trino_server.start(stack, logs / "trino", port,
                                   ("127.0.0.1", wanted["postgres"][1]), stack.s3_endpoint,
                                   rest_catalog.local_uri(stack.catalog_uri),
                                   progress=progress)  # fmt: skip
        _record(stack, "trino", server.pid, port, PROGRAMS["trino"])
        progress(f"Trino: http://127.0.0.1:{port} (ready in {server.seconds_to_start:.0f} s)")
    return status(stack)


def _orphan(service: str, port: int) -> int | None:
    """The PID of a process of this user that listens on `port` and runs `service`'s program,
    though no record names it (its record was lost: truncated, deleted): this stack's own."""
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status != psutil.CONN_LISTEN or connection.laddr.port != port:
            continue
        try:
            process = psutil.Process(connection.pid)
            mine = process.uids().real == os.getuid()
            runs = PROGRAMS[service] in " ".join(process.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied, TypeError):
            continue
        if mine and runs and os.getpgid(process.pid) != os.getpgid(0):
            return os.getpgid(process.pid)
    return None


def _stop_orphan(service: str, port: int, progress) -> bool:
    """Stop `service`'s unrecorded process on `port` (its process group); whether there was one."""
    pid = _orphan(service, port)
    if pid is None:
        return False
    processes.stop(pid)
    progress(f"stopped {service} (pid {pid}), which ran without its record")
    return True


def _variable(service: str) -> str:
    return {"postgres": "PLAYGROUND_PG_PORT", "s3": "PLAYGROUND_S3_ENDPOINT",
            "catalog": "PLAYGROUND_CATALOG_URI",
            "trino": "PLAYGROUND_TRINO_PORT"}[service]  # fmt: skip


def down(settings: Settings | None = None, progress=print) -> list[Line]:
    """Stop the processes `up` started, by their recorded PIDs, last started first."""
    stack = stack_settings(settings)
    wanted = ports(stack)
    for service in reversed(SERVICES):
        record = _running(stack, service)
        if record is None:
            _stop_orphan(service, wanted[service][1], progress)
            continue
        processes.stop(record["pid"], port=record["port"])  # its group: SIGTERM, then SIGKILL
        _state(stack, service).unlink(missing_ok=True)
        progress(f"stopped {service} (pid {record['pid']})")
    _stop_started_server(stack, progress)
    return status(stack)


def _started_server(stack: Settings) -> Path:
    """The mark `up` leaves when it started the embedded PostgreSQL itself."""
    return stack.data_dir / "stack" / "postgres-started-by-up"


def _stop_started_server(stack: Settings, progress) -> None:
    """Stop the embedded PostgreSQL if `up` started it and no other client is connected."""
    mark = _started_server(stack)
    embedded = replace(stack, mode="embedded")
    if not mark.exists() or postgres.running(embedded) is None:
        mark.unlink(missing_ok=True)
        return
    with postgres.connect(settings=embedded) as conn:
        (others,) = conn.execute(
            "select count(*) from pg_stat_activity where backend_type = 'client backend' "
            "and pid <> pg_backend_pid()"
        ).fetchone()
    if others:
        progress(f"the embedded PostgreSQL keeps running: {others} other connection(s) use it "
                 "(`playground services stop` stops it)")  # fmt: skip
        return
    progress(postgres.stop(embedded).detail)
    mark.unlink()


def recorded(settings: Settings | None = None) -> list[str]:
    """The services `up` started that still run, on the ports these settings name."""
    stack = stack_settings(settings)
    try:
        wanted = ports(stack)
    except StackError:  # a remote host: not the local stack
        return []
    found = {service: _running(stack, service) for service in SERVICES}
    return [s for s, record in found.items() if record and record["port"] == wanted[s][1]]


def can_start() -> str:
    """What `up` would use here; TrinoUnavailable/S3Unavailable naming what is missing."""
    java = trino_server.java_home()
    s3 = s3_server.built()
    if s3 is None:
        s3_server.builder()  # raises, saying how to get Go
    versitygw = f"versitygw {s3_server.VERSION} " + ("built" if s3 else "to build with Go (once)")
    rest = f"Iceberg REST catalog {rest_catalog.VERSION}" + (
        "" if rest_catalog.fetched() else " (to download once)"
    )
    return f"Java at {java}, Trino {trino_server.VERSION}, {versitygw}, {rest}"


def fetch_in_background() -> threading.Thread:
    """Download Trino and build versitygw in a thread, beside other work (the test suite does this
    while its first tests run). Failures are left to `up`, which repeats the step and reports
    them; the caller joins the thread before it exits, so no download or `go` outlives it."""

    def work() -> None:
        try:
            trino_server.java_home()
            trino_server.fetch(progress=lambda _line: None)
            rest_catalog.fetch(progress=lambda _line: None)
            s3_server.binary(progress=lambda _line: None)
        except (trino_server.TrinoUnavailable, s3_server.S3Unavailable,
                rest_catalog.CatalogUnavailable):  # fmt: skip
            pass

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def status(settings: Settings | None = None) -> list[Line]:
    """One line per service: its recorded PID and whether its port answers."""
    stack = stack_settings(settings)
    lines = []
    for service, (host, port) in ports(stack).items():
        record = _running(stack, service)
        answers = port_open(host, port)
        server_down = postgres.running(replace(stack, mode="embedded")) is None
        if service == "postgres" and record and server_down:
            detail = f"pid {record['pid']} forwards {host}:{port} to a stopped server"
            lines.append(Line(service, False, f"{detail}: `playground services start`"))
            continue
        if record and answers:
            lines.append(Line(service, True, f"pid {record['pid']}, {host}:{port}"))
        elif record:
            lines.append(Line(service, False, f"pid {record['pid']} runs, {host}:{port} silent"))
        elif answers:
            lines.append(Line(service, True, f"{host}:{port} answers (not started by `stack up`)"))
        else:
            lines.append(Line(service, False, "not running"))
    return lines


def main(action: str) -> int:
    """The `playground stack` command."""
    try:
        lines = {"up": up, "down": down, "status": status}[action]()
    except (StackError, ServiceUnavailable, trino_server.TrinoUnavailable,
            s3_server.S3Unavailable, rest_catalog.CatalogUnavailable) as exc:  # fmt: skip
        print(f"error: {exc}", file=sys.stderr)
        if action == "up" and recorded():
            print("What did start still runs: `playground stack status`, `playground stack down`.",
                  file=sys.stderr)  # fmt: skip
        return 1
    for line in lines:
        print(f"{'ok ' if line.ok else '-- '} {line.service:<9} {line.detail}")
    if action == "up" and not get_settings().is_stack:
        print("Next: set PLAYGROUND_MODE=stack (in .env or the shell) to use it.")
    return 0 if action == "down" or all(line.ok for line in lines) else 1
