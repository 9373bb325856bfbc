"""`playground doctor`: one line per component, with the command that fixes each failure.

Imports inside functions: each check imports only the part it checks.
"""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from playground.config.settings import Settings, SettingsError, get_settings
from playground.services.net import port_open


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


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - our own endpoints
            return 200 <= response.status < 400
    except OSError:
        return False


class Fix(RuntimeError):
    """A failed probe that knows the specific command that fixes it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _guard(component: str, hint: str, probe: Callable[[], str], required: bool = True) -> Check:
    try:
        return Check(component, True, probe(), required=required)
    except Fix as exc:
        return Check(component, False, str(exc), exc.hint, required)
    except Exception as exc:  # doctor reports every failure instead of stopping at the first
        first = str(exc).splitlines()[0] if str(exc) else ""
        return Check(component, False, f"{type(exc).__name__}: {first}", hint, required)


UP = "docker compose up --wait"
RESET = "docker compose down -v && docker compose up --wait  (drops the stack's data)"


def missing_catalog_tables(conn) -> list[str]:
    """The Iceberg catalog tables (created by the stack's init SQL) absent from a database."""
    names = ("iceberg_tables", "iceberg_namespace_properties")
    found = conn.execute(
        "select to_regclass(%s) is not null, to_regclass(%s) is not null", names
    ).fetchone()
    return [name for name, present in zip(names, found, strict=True) if not present]


def bucket_probe(settings: Settings) -> str:
    from playground.lakehouse import objectstore

    try:
        exists = objectstore.bucket_exists(settings)
    except OSError as exc:
        raise Fix(f"{settings.s3_endpoint} unreachable: {str(exc).splitlines()[0]}", UP) from None
    if not exists:
        raise Fix(
            f"{settings.s3_endpoint}: bucket {settings.s3_bucket!r} does not exist",
            f"{UP}  (its s3 service makes the bucket; without Docker: playground stack up)",
        )
    return f"{settings.s3_endpoint}: bucket {settings.s3_bucket!r}"


def rest_catalog_probe(settings: Settings) -> str:
    """The REST catalog answers (the "iceberg catalog" line lists what it holds)."""
    from playground.stack import rest_catalog

    try:
        rest_catalog.config(settings.catalog_uri, timeout=3, token=settings.catalog_token)
    except OSError as exc:
        raise Fix(
            f"{settings.catalog_uri} does not answer: {exc}",
            f"{UP}; if it keeps failing: docker compose logs iceberg-rest",
        ) from None
    return f"Iceberg REST catalog at {settings.catalog_uri} answers"


def trino_probe(settings: Settings) -> str:
    from playground.engines import trino

    version = trino.info(settings).get("nodeVersion", {}).get("version", "?")
    _, rows = trino.execute("show catalogs", settings=settings)
    catalogs = sorted(row[0] for row in rows)
    missing = [c for c in ("iceberg", "postgresql", "tpch") if c not in catalogs]
    if missing:
        raise Fix(
            f"Trino {version} lacks catalog(s) {', '.join(missing)} (has {', '.join(catalogs)})",
            "docker compose logs trino  (a catalog in docker/trino/catalog failed to load)",
        )
    return f"Trino {version} at {settings.trino_host}:{settings.trino_port}: " + ", ".join(catalogs)


def checks(settings: Settings) -> list[Check]:
    from playground import lakehouse
    from playground.engines import duck
    from playground.services import postgres
    from playground.stack import control

    stack = settings.is_stack
    local = control.recorded(settings)  # the stack's services run as local processes
    up = "playground stack up" if local else UP
    mode = settings.mode + (f" (local processes: {', '.join(local)})" if local else "")
    result = [Check("mode", True, mode)]
    free_gb = shutil.disk_usage(settings.data_dir).free / 1e9
    result.append(Check("data dir", True, f"{settings.data_dir} (writable, {free_gb:.1f} GB free)"))
    result.extend(_security_checks(settings))

    pg = postgres.status(settings)
    pg_hint = up if stack else "playground services start"
    result.append(Check("postgres", pg.running, pg.detail, pg_hint))

    def pagila_probe() -> str:
        from playground.datasets.pagila.seed import row_counts

        if not pg.running:
            raise RuntimeError("PostgreSQL is not running")
        # only the two tables shown: counting payment at SF 100 would take seconds
        counts = row_counts(postgres.url(settings.pagila_db, settings), ("rental", "film"))
        rentals, films = counts["rental"], counts["film"]
        return f"database {settings.pagila_db!r}: {rentals:,} rentals, {films:,} films"

    seed_hint = "playground seed --target stack" if stack else "playground seed"
    result.append(_guard("pagila", seed_hint, pagila_probe))

    def duck_probe() -> str:
        with duck.connect(settings=settings) as con:
            loaded = duck.loaded_extensions(con)
        missing = [e for e in duck.EXTENSIONS if e not in loaded]
        if missing:
            raise RuntimeError(f"not loaded: {', '.join(missing)}")
        return "extensions " + ", ".join(duck.EXTENSIONS) + " loaded offline"

    result.append(_guard("duckdb", "make install", duck_probe))

    def catalog_probe() -> str:
        if stack:
            with postgres.connect(settings.catalog_db, settings) as conn:
                missing = missing_catalog_tables(conn)
            if missing:
                raise Fix(
                    f"database {settings.catalog_db!r} lacks {', '.join(missing)} (the postgres "
                    "volume predates docker/postgres/initdb)",
                    RESET,
                )
        cat = lakehouse.catalog(settings)
        namespaces = [".".join(n) for n in cat.list_namespaces()]
        tables = sum(len(cat.list_tables(n)) for n in namespaces)
        return (
            f"{settings.catalog_name!r} at {cat.properties['uri'].split('@')[-1]}: "
            f"{len(namespaces)} namespaces, {tables} tables"
        )

    result.append(_guard("iceberg catalog", pg_hint if stack else "make install", catalog_probe))

    def dbt_probe() -> str:
        from playground.lakehouse import warehouse
        from playground.orchestration import dbt_project

        if not dbt_project.is_prepared(settings):  # the manifest of the data dir checked
            raise Fix(
                f"the dbt manifest {dbt_project.manifest_path(settings)} is missing or older than "
                "dbt_project/", "playground dbt prepare"
            )  # fmt: skip
        where = settings.duckdb_path
        try:
            warehouse.check_writable(where)
        except warehouse.WarehouseLocked as exc:
            raise Fix(str(exc).split(". Close")[0], "close the process named above") from None
        state = "writable" if where.exists() else "not built yet (materialize pagila)"
        return f"manifest current; warehouse {where} {state}"

    result.append(_guard("dbt", "playground dbt prepare", dbt_probe))

    def leftovers_probe() -> str:
        from playground.lakehouse import clean

        found = clean.find(settings)  # only what is proven unused: no catalog, no snapshot
        if found.files or found.uploads or found.databases:
            raise Fix(f"left by killed runs: {found.summary()}", "playground clean")
        if found.hint:  # clean cannot tell yet, and says why
            raise Fix(f"cannot tell what killed runs left: {found.kept[0]}", found.hint)
        kept = f"; {len(found.kept)} staged folder(s) kept (see playground clean --dry-run)"
        return "none left by killed extracts or seeds" + (kept if found.kept else "")

    result.append(_guard("leftovers", "playground clean", leftovers_probe))
    slots_hint = "playground clean"
    result.append(_guard("replication slots", slots_hint, lambda: _slots_probe(pg, settings)))
    if not stack:
        from playground.services import pgserver

        user = pgserver.server_user()
        if user is not None:
            result.append(Check(
                "running as root", True,
                f"PostgreSQL runs as system user {user!r}; every parent folder of "
                f"{settings.pgdata} was made readable by all users (o+rx) so it can reach its data",
            ))  # fmt: skip

    s3 = urlsplit(settings.s3_endpoint)
    if stack:
        reachable = port_open(settings.pg_host, settings.pg_port)
        detail = f"{settings.pg_host}:{settings.pg_port} " + (
            "reachable" if reachable else "not reachable"
        )
        result.append(Check("stack: postgres", reachable, detail, up))
        result.append(_guard("stack: object store", up, lambda: bucket_probe(settings)))
        result.append(_guard("stack: catalog", up, lambda: rest_catalog_probe(settings)))
        result.append(_guard("stack: trino", up, lambda: trino_probe(settings)))
    else:
        rest = urlsplit(settings.catalog_uri)
        for name, host, port in (
            ("stack: object store", s3.hostname or "localhost", s3.port or 9000),
            ("stack: catalog", rest.hostname or "localhost", rest.port or 8181),
            ("stack: trino", settings.trino_host, settings.trino_port),
        ):
            answers = port_open(host, port)
            detail = f"{host}:{port} {'reachable' if answers else 'not reachable'}"
            detail += " (only needed in stack mode)"
            hint = f"{UP}, or without Docker: playground stack up"
            result.append(Check(name, answers, detail, hint, False))
    if not local:
        result.append(_guard("stack without docker", "make install-stack, or use Docker",
                             control.can_start, required=False))  # fmt: skip
    result += _runtime_checks()
    result.append(_bi_check(settings, stack, local))
    for name, service, url in (
        ("stack: metabase", "metabase", f"http://127.0.0.1:{settings.metabase_port}/api/health"),
        ("stack: superset", "superset", f"http://127.0.0.1:{settings.superset_port}/health"),
    ):
        if service == "superset" and not (stack and not local):
            continue  # the local Superset's line above says all
        answers = _http_ok(url)
        base = url.rsplit("/", 1)[0].removesuffix("/api")
        detail = f"{base} {'answers' if answers else 'not running'}"
        if not stack:
            detail += " (only needed in stack mode)"
        elif local:
            detail += " (the compose stack's; without Docker: `playground bi start` for Superset)"
        hint = f"{UP}; if it keeps failing: docker compose logs {service}"
        result.append(Check(name, answers, detail, hint, required=stack and not local))

    for name, url in (
        ("dagster ui", f"http://127.0.0.1:{settings.dagster_port}/server_info"),
        ("marimo editor", f"http://127.0.0.1:{settings.marimo_port}/health"),
    ):
        answers = _http_ok(url)
        base = url.rsplit("/", 1)[0]
        detail = f"{base} {'answers' if answers else 'not running'}"
        result.append(Check(name, answers, detail, "make run", False))
    return result


def _runtime_checks() -> list[Check]:
    """Which Java and which Go the local stack uses, and where each came from."""
    from playground.stack import runtimes

    return [
        _guard("stack: java", "make install-stack", lambda: runtimes.java().line(), False),
        _guard("stack: go", "make install-stack", lambda: runtimes.go().line(), False),
    ]


def _slots_probe(pg, settings: Settings) -> str:
    """Every replication slot with the write-ahead log it holds back; a killed run's is a fault."""
    from playground.services import slots

    if not pg.running:
        raise RuntimeError("PostgreSQL is not running")
    found = slots.list_slots(settings)
    every = "; ".join(slot.line() for slot in found) or "none"
    if stale := [slot.name for slot in found if slot.stale]:
        left = f"{', '.join(stale)} left by killed runs"
        raise Fix(f"{left}; every slot: {every}", "playground clean")
    return every


def _security_checks(settings: Settings) -> list[Check]:
    from playground.cli import doctor_security as privacy

    found = []
    for name, probe in (("private: data dir", privacy.private_data_dir),
                        ("private: secrets", privacy.install_secrets),
                        ("private: postgres", privacy.postgres_logins)):  # fmt: skip
        try:
            ok, detail, hint = probe(settings)
        except Exception as exc:  # doctor reports every failure instead of stopping at the first
            ok, detail, hint = False, f"{type(exc).__name__}: {str(exc)[:200]}", ""
        found.append(Check(name, ok, detail, hint))
    return found


def _bi_check(settings: Settings, stack: bool, local: bool) -> Check:
    """Superset without Docker (`playground bi`); optional, as BI is heavy."""
    from playground.stack import superset

    state = superset.status(settings)
    if not state.running and stack and not local and _http_ok(f"{superset.url(settings)}/health"):
        return Check(
            "bi: superset", True, f"{superset.url(settings)} answers (the compose stack's)"
        )
    return Check("bi: superset", state.running, state.detail, "playground bi start", False)


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
