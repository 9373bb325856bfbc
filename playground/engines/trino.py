"""Trino on the stack: connections, queries as Arrow/pandas, and safe identifiers.

Trino runs on the compose stack (`docker compose up --wait`), or as a local process from
`playground.stack.trino_server` (what `playground stack up` and the test suite start). Its `iceberg`
catalog reads the same Iceberg catalog as PyIceberg and DuckDB; `postgresql` reaches pagila;
`tpch` generates data.
Identifiers are always quoted with `quote()`/`qualified()`; values go in as `?` parameters.
"""

from __future__ import annotations

import json
import os
import ssl
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import requests
import trino
from trino.exceptions import TrinoQueryError

from playground.config.settings import START_STACK, ServiceUnavailable, Settings, get_settings

CATALOGS = ("iceberg", "postgresql", "tpch")
# Errors of a server that is up but cannot run queries yet.
_NOT_READY = ("NO_NODES_AVAILABLE", "SERVER_STARTING_UP")


def quote(name: str) -> str:
    """A Trino identifier in double quotes (embedded quotes doubled)."""
    if not name or "\x00" in name:
        raise ValueError(f"{name!r} is not a usable identifier")
    return '"' + name.replace('"', '""') + '"'


def qualified(*parts: str) -> str:
    """`catalog.schema.table` with every part quoted."""
    return ".".join(quote(p) for p in parts)


def login_file(settings: Settings) -> Path:
    """Where `playground stack up` leaves its Trino's login (`stack.trino_tls`)."""
    return settings.data_dir / "stack" / "trino-tls" / "login.json"


def local_login(settings: Settings) -> dict | None:
    """The local stack's Trino login (user, password, port, certificate) when these settings
    point at that Trino (on this machine, at the port it serves HTTPS on); else None."""
    if settings.trino_host not in ("localhost", "127.0.0.1"):
        return None
    try:
        login = json.loads(login_file(settings).read_text())
    except (OSError, ValueError):
        return None
    return login if isinstance(login, dict) and login.get("port") == settings.trino_port else None


def base_url(settings: Settings) -> str:
    """Trino's address for clients and links: https when the local stack's login applies."""
    scheme = "https" if local_login(settings) else settings.trino_scheme
    return f"{scheme}://{settings.trino_host}:{settings.trino_port}"


def _tls(settings: Settings) -> ssl.SSLContext | None:
    login = local_login(settings)
    return ssl.create_default_context(cafile=login["certificate"]) if login else None


def info(settings: Settings | None = None, timeout: float = 3) -> dict:
    """Trino's /v1/info (version, whether it is starting), or ServiceUnavailable with a hint."""
    settings = settings or get_settings()
    url = f"{base_url(settings)}/v1/info"
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=_tls(settings)) as response:  # noqa: S310 - our endpoint
            return json.load(response)
    except OSError as exc:
        raise ServiceUnavailable(
            f"Trino at {url} is unreachable ({exc}). Next: start the stack with "
            f"{START_STACK} and set PLAYGROUND_MODE=stack."
        ) from None


def ready(settings: Settings | None = None, timeout: float = 60) -> float:
    """Wait until Trino can schedule a query; returns the seconds waited.

    `/v1/info` says `starting: false` a few seconds before any node has joined the scheduler, and
    a query sent then fails with NO_NODES_AVAILABLE. This runs a small `tpch` query until it works.
    """
    started = time.monotonic()
    while True:
        try:
            _, rows = execute("select count(*) from tpch.tiny.region", settings=settings)
            break
        except (ServiceUnavailable, TrinoQueryError) as exc:
            if isinstance(exc, TrinoQueryError) and exc.error_name not in _NOT_READY:
                raise
            if time.monotonic() - started > timeout:
                raise ServiceUnavailable(
                    f"Trino cannot run a query after {timeout:.0f} s ({exc}). Next: check that a "
                    "worker has joined (table system.runtime.nodes) and read the server log."
                ) from None
        time.sleep(0.5)
    if rows != [(5,)]:
        raise ServiceUnavailable(f"Trino's tpch catalog answered {rows}, not [(5,)]")
    return time.monotonic() - started


def _session(certificate: str) -> requests.Session:
    """An HTTP session that trusts exactly `certificate`. Not the environment's: requests lets
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE replace a session's own `verify`, which would then
    refuse this server (or, pointed elsewhere, trust another)."""
    session = requests.Session()
    session.verify, session.trust_env = certificate, False
    return session


def connect(catalog: str = "iceberg", schema: str | None = None, settings: Settings | None = None):
    """A `trino.dbapi` connection: to the local stack's Trino with its login over HTTPS, its
    certificate verified; else basic auth over HTTPS when PLAYGROUND_TRINO_PASSWORD is set."""
    settings = settings or get_settings()
    auth, user, scheme, session = None, settings.trino_user, settings.trino_scheme, None
    encoding: list[str] | None = ["json+zstd", "json"]
    login = local_login(settings)
    if login:
        auth = trino.auth.BasicAuthentication(login["user"], login["password"])
        user, scheme, session = login["user"], "https", _session(login["certificate"])
        if os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"):
            # the client fetches spooled segments with a session of its own, whose `verify`
            # that variable replaces (every encoding is spooled, "json" too): no encoding asks
            # for the direct protocol, whose pages come through this session
            encoding = None
    elif settings.trino_password:
        auth = trino.auth.BasicAuthentication(settings.trino_user, settings.trino_password)
    return trino.dbapi.connect(
        host=settings.trino_host,
        port=settings.trino_port,
        user=user,
        catalog=catalog,
        schema=schema,
        http_scheme=scheme,
        auth=auth,
        http_session=session,
        source="playground",
        # the time rule (playground/config/months.py): the session's zone is UTC, not the machine's,
        # so timestamps come back, and literals are read, as UTC instants
        timezone="UTC",
        # The spooling protocol (docker/trino/*/config.properties): results as zstd-compressed
        # segments (None: the direct protocol). A server without it answers with the direct one.
        encoding=encoding,
    )


def execute(
    sql: str,
    params: Sequence[Any] | None = None,
    catalog: str = "iceberg",
    schema: str | None = None,
    settings: Settings | None = None,
) -> tuple[list[str], list[tuple]]:
    """Run one statement; returns (column names, rows). Use `?` for values."""
    info(settings)  # a clear error instead of a connection traceback
    with connect(catalog, schema, settings) as conn:
        cursor = conn.cursor()
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        names = [d[0] for d in cursor.description or []]
    return names, [tuple(r) for r in rows]


def fetch_arrow(sql: str, params: Sequence[Any] | None = None, **kwargs) -> pa.Table:
    """Run a query and return its rows as an Arrow table (types inferred from the values)."""
    names, rows = execute(sql, params, **kwargs)
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    return pa.table({n: pa.array(c) for n, c in zip(names, columns, strict=True)})


def fetch_pandas(sql: str, params: Sequence[Any] | None = None, **kwargs):
    """Run a query and return a pandas DataFrame."""
    return fetch_arrow(sql, params, **kwargs).to_pandas()
