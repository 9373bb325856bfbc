"""`playground doctor`: one line per component, with the command that fixes each failure."""

from __future__ import annotations

import shutil
import socket
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from playground.settings import Settings, SettingsError, get_settings


@dataclass(frozen=True)
class Check:
    component: str
    ok: bool
    detail: str
    hint: str = ""
    required: bool = True

    def line(self) -> str:
        mark = "ok  " if self.ok else ("FAIL" if self.required else "--  ")
        text = f"{mark} {self.component:<22} {self.detail}"
        if not self.ok and self.hint:
            text += f"\n     {'':<22} next: {self.hint}"
        return text


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.5):
            return True
    except OSError:
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - our own endpoints
            return 200 <= response.status < 400
    except OSError:
        return False


def _guard(component: str, hint: str, probe: Callable[[], str]) -> Check:
    try:
        return Check(component, True, probe())
    except Exception as exc:  # doctor reports every failure instead of stopping at the first
        return Check(component, False, f"{type(exc).__name__}: {str(exc).splitlines()[0]}", hint)


def checks(settings: Settings) -> list[Check]:
    from playground import duck, lakehouse, postgres

    stack = settings.is_stack
    result = [Check("mode", True, settings.mode)]
    free_gb = shutil.disk_usage(settings.data_dir).free / 1e9
    result.append(Check("data dir", True, f"{settings.data_dir} (writable, {free_gb:.1f} GB free)"))

    pg = postgres.status(settings)
    pg_hint = "docker compose up --wait" if stack else "playground services start"
    result.append(Check("postgres", pg.running, pg.detail, pg_hint))

    def pagila_probe() -> str:
        from playground.pagila.seed import row_counts

        if not pg.running:
            raise RuntimeError("PostgreSQL is not running")
        # only the two tables shown: counting payment at SF 100 would take seconds
        counts = row_counts(postgres.url(settings.pagila_db, settings), ("rental", "film"))
        rentals, films = counts["rental"], counts["film"]
        return f"database {settings.pagila_db!r}: {rentals:,} rentals, {films:,} films"

    result.append(_guard("pagila", "playground seed", pagila_probe))

    def duck_probe() -> str:
        with duck.connect(settings=settings) as con:
            loaded = duck.loaded_extensions(con)
        missing = [e for e in duck.EXTENSIONS if e not in loaded]
        if missing:
            raise RuntimeError(f"not loaded: {', '.join(missing)}")
        return "extensions " + ", ".join(duck.EXTENSIONS) + " loaded offline"

    result.append(_guard("duckdb", "make install", duck_probe))

    def catalog_probe() -> str:
        cat = lakehouse.catalog(settings)
        namespaces = [".".join(n) for n in cat.list_namespaces()]
        tables = sum(len(cat.list_tables(n)) for n in namespaces)
        return (
            f"{settings.catalog_name!r} at {cat.properties['uri'].split('@')[-1]}: "
            f"{len(namespaces)} namespaces, {tables} tables"
        )

    result.append(_guard("iceberg catalog", pg_hint if stack else "make install", catalog_probe))

    s3 = urlsplit(settings.s3_endpoint)
    stack_services = [
        ("stack: object store", s3.hostname or "localhost", s3.port or 9000),
        ("stack: trino", settings.trino_host, settings.trino_port),
    ]
    if stack:
        stack_services.insert(0, ("stack: postgres", settings.pg_host, settings.pg_port))
    for name, host, port in stack_services:
        up = _port_open(host, port)
        detail = f"{host}:{port} {'reachable' if up else 'not reachable'}"
        if not stack:
            detail += " (only needed in stack mode)"
        result.append(Check(name, up, detail, "docker compose up --wait", required=stack))

    for name, url in (
        ("dagster ui", f"http://127.0.0.1:{settings.dagster_port}/server_info"),
        ("marimo editor", f"http://127.0.0.1:{settings.marimo_port}/health"),
    ):
        up = _http_ok(url)
        base = url.rsplit("/", 1)[0]
        result.append(
            Check(name, up, f"{base} {'answers' if up else 'not running'}", "make run", False)
        )
    return result


def main() -> int:
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"FAIL {'settings':<22} {exc}")
        return 1
    results = checks(settings)
    for check in results:
        print(check.line())
    failed = [c for c in results if c.required and not c.ok]
    print(f"\n{len(failed)} problem(s)." if failed else "\nAll required components are ready.")
    return 1 if failed else 0
