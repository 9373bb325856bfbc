import os
import sys

from playground.cli import doctor
from playground.config.settings import get_settings
from tests.helpers import run


def test_doctor_embedded_reports_every_component(fresh_postgres) -> None:
    """In a data directory of its own: the suite's shared one also holds the catalog of the
    suite's stack, whose files doctor rightly cannot judge while that stack's bucket is away."""
    from playground.datasets.pagila import seed

    settings = get_settings()
    seed.seed(0.05, database=settings.pagila_db, progress=lambda _line: None)
    result = run([sys.executable, "-m", "playground.cli", "doctor"])
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for component in ("mode", "data dir", "postgres", "pagila", "duckdb", "iceberg catalog", "dbt"):
        assert any(line.startswith("ok") and f" {component} " in line for line in lines), component
    assert any("database 'pagila': 802 rentals" in line for line in lines)
    assert any("stack: trino" in line and "only needed in stack mode" in line for line in lines)
    assert "All required components are ready." in result.stdout
    assert any(line.startswith("ok") and " leftovers " in line for line in lines)
    as_root = any(" running as root " in line for line in lines)
    assert as_root == (os.geteuid() == 0)  # the widened folders are said when they happen
    if as_root:
        assert f"every parent folder of {settings.pgdata} was made readable" in result.stdout


def test_doctor_stack_down_names_the_fix(stack_settings) -> None:
    checks = {c.component: c for c in doctor.checks(stack_settings)}
    for name in ("postgres", "stack: postgres", "stack: object store", "stack: trino"):
        assert not checks[name].ok
        assert checks[name].required
        assert checks[name].hint == "docker compose up --wait"
    for name in ("metabase", "superset"):
        check = checks[f"stack: {name}"]
        assert not check.ok and check.required and "not running" in check.detail
        assert check.hint.endswith(f"docker compose logs {name}")
    bi = checks["bi: superset"]
    assert not bi.ok and not bi.required and bi.hint == "playground bi start"
    assert "unreachable" in checks["stack: object store"].detail
    assert checks["pagila"].hint == "playground seed --target stack"
    assert not checks["iceberg catalog"].ok
    assert "FAIL" in checks["stack: trino"].line()
    assert "next: docker compose up --wait" in checks["stack: trino"].line()


def test_doctor_bad_setting(monkeypatch) -> None:
    monkeypatch.setenv("PLAYGROUND_MODE", "cloud")
    result = run([sys.executable, "-m", "playground.cli", "doctor"])
    assert result.returncode == 1
    assert "PLAYGROUND_MODE='cloud' is not a mode" in result.stdout


def test_missing_catalog_tables_before_and_after_the_init_sql(settings) -> None:
    from playground.services import postgres
    from tests.helpers import ROOT

    init = (ROOT / "docker" / "postgres" / "initdb" / "01-playground.sql").read_text()
    tables = init[init.index("CREATE TABLE iceberg_tables") :]
    postgres.drop_database("doctor_catalog", settings)
    postgres.ensure_database("doctor_catalog", settings)
    try:
        with postgres.connect("doctor_catalog", settings, autocommit=True) as conn:
            assert doctor.missing_catalog_tables(conn) == [
                "iceberg_tables", "iceberg_namespace_properties",
            ]  # fmt: skip
            conn.execute(tables)
            assert doctor.missing_catalog_tables(conn) == []
    finally:
        postgres.drop_database("doctor_catalog", settings)
